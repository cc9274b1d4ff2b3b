;; Element-wise updates written into tensors where they live: this module imports the memory of
;; TensorFlow.js's WebAssembly backend, so its addresses are the tensors' byte offsets there and
;; nothing is copied. Four float32 lanes at a time (f32x4), then the remainder one by one; each
;; lane does the same float32 operations in the same order as the scalar tail. Build with
;; `npm run kernels`, which writes heap-updates.wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; One Adam step of n entries: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p + s·m/(√v + ε),
  ;; where the caller folds the learning rate and both bias corrections into s and ε.
  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $beta1 f32) (param $beta2 f32) (param $scale f32) (param $epsilon f32)
    (local $at i32) (local $end i32) (local $vecEnd i32)
    (local $gq v128) (local $mq v128) (local $vq v128)
    (local $b1 v128) (local $c1 v128) (local $b2 v128) (local $c2 v128) (local $s v128) (local $e v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $c1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $c2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $s (f32x4.splat (local.get $scale)))
    (local.set $e (f32x4.splat (local.get $epsilon)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $gq (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mq
          (f32x4.add
            (f32x4.mul (local.get $b1) (v128.load (i32.add (local.get $m) (local.get $at))))
            (f32x4.mul (local.get $c1) (local.get $gq))))
        (local.set $vq
          (f32x4.add
            (f32x4.mul (local.get $b2) (v128.load (i32.add (local.get $v) (local.get $at))))
            (f32x4.mul (local.get $c2) (f32x4.mul (local.get $gq) (local.get $gq)))))
        (v128.store (i32.add (local.get $m) (local.get $at)) (local.get $mq))
        (v128.store (i32.add (local.get $v) (local.get $at)) (local.get $vq))
        (v128.store (i32.add (local.get $p) (local.get $at))
          (f32x4.add
            (v128.load (i32.add (local.get $p) (local.get $at)))
            (f32x4.mul (local.get $s)
              (f32x4.div (local.get $mq) (f32x4.add (f32x4.sqrt (local.get $vq)) (local.get $e))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $ms
          (f32.add
            (f32.mul (local.get $beta1) (f32.load (i32.add (local.get $m) (local.get $at))))
            (f32.mul (f32.sub (f32.const 1) (local.get $beta1)) (local.get $gs))))
        (local.set $vs
          (f32.add
            (f32.mul (local.get $beta2) (f32.load (i32.add (local.get $v) (local.get $at))))
            (f32.mul (f32.sub (f32.const 1) (local.get $beta2)) (f32.mul (local.get $gs) (local.get $gs)))))
        (f32.store (i32.add (local.get $m) (local.get $at)) (local.get $ms))
        (f32.store (i32.add (local.get $v) (local.get $at)) (local.get $vs))
        (f32.store (i32.add (local.get $p) (local.get $at))
          (f32.add
            (f32.load (i32.add (local.get $p) (local.get $at)))
            (f32.mul (local.get $scale)
              (f32.div (local.get $ms) (f32.add (f32.sqrt (local.get $vs)) (local.get $epsilon))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))

  ;; y ← αx + βy over n entries.
  (func (export "axpby")
    (param $n i32) (param $alpha f32) (param $x i32) (param $beta f32) (param $y i32)
    (local $at i32) (local $end i32) (local $vecEnd i32) (local $a v128) (local $b v128)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $b (f32x4.splat (local.get $beta)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $y) (local.get $at))
          (f32x4.add
            (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $x) (local.get $at))))
            (f32x4.mul (local.get $b) (v128.load (i32.add (local.get $y) (local.get $at))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $y) (local.get $at))
          (f32.add
            (f32.mul (local.get $alpha) (f32.load (i32.add (local.get $x) (local.get $at))))
            (f32.mul (local.get $beta) (f32.load (i32.add (local.get $y) (local.get $at))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))

  ;; The exactly-zero and the non-finite entries of n float32 values, as zeros + 2³²·nonFinite
  ;; (exact in a float64). A lane counts by subtracting its all-ones comparison mask.
  (func (export "counts") (param $x i32) (param $n i32) (result f64)
    (local $at i32) (local $end i32) (local $vecEnd i32) (local $v v128) (local $zq v128) (local $fq v128)
    (local $zeros i32) (local $nonFinite i32) (local $s f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (local.set $zq (v128.const i32x4 0 0 0 0))
    (local.set $fq (v128.const i32x4 0 0 0 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $zq (i32x4.sub (local.get $zq) (f32x4.eq (local.get $v) (v128.const f32x4 0 0 0 0))))
        ;; v − v is 0 for a finite v, NaN for NaN and ±∞.
        (local.set $fq (i32x4.sub (local.get $fq)
          (f32x4.ne (f32x4.sub (local.get $v) (local.get $v)) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (local.set $zeros
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $zq)) (i32x4.extract_lane 1 (local.get $zq)))
        (i32.add (i32x4.extract_lane 2 (local.get $zq)) (i32x4.extract_lane 3 (local.get $zq)))))
    (local.set $nonFinite
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $fq)) (i32x4.extract_lane 1 (local.get $fq)))
        (i32.add (i32x4.extract_lane 2 (local.get $fq)) (i32x4.extract_lane 3 (local.get $fq)))))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $at))))
        (if (f32.eq (local.get $s) (f32.const 0)) (then (local.set $zeros (i32.add (local.get $zeros) (i32.const 1)))))
        (if (f32.ne (f32.sub (local.get $s) (local.get $s)) (f32.const 0))
          (then (local.set $nonFinite (i32.add (local.get $nonFinite) (i32.const 1)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail)))
    (f64.add
      (f64.convert_i32_u (local.get $zeros))
      (f64.mul (f64.convert_i32_u (local.get $nonFinite)) (f64.const 4294967296))))


  ;; h ← max(h + b, 0) over rows × cols, b one value per column (b = 0: no bias): ReLU after an
  ;; affine layer, written over the layer's product. cols must be a multiple of 4 for the vector
  ;; loop; any other width runs the scalar loop only.
  (func (export "biasRelu") (param $h i32) (param $b i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $at i32) (local $j i32) (local $rowEnd i32) (local $vecCols i32) (local $s f32)
    (local.set $vecCols (select (local.get $cols) (i32.const 0) (i32.eqz (i32.and (local.get $cols) (i32.const 3)))))
    (local.set $at (local.get $h))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $j) (local.get $vecCols)))
            (v128.store (local.get $at)
              (f32x4.max
                (if (result v128) (local.get $b)
                  (then (f32x4.add (v128.load (local.get $at))
                    (v128.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))))
                  (else (v128.load (local.get $at))))
                (v128.const f32x4 0 0 0 0)))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $done
          (loop $tail
            (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $s (f32.load (local.get $at)))
            (if (local.get $b)
              (then (local.set $s (f32.add (local.get $s)
                (f32.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))))))
            (f32.store (local.get $at) (f32.max (local.get $s) (f32.const 0)))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $eachRow))))

  ;; g ← g where h > 0, else 0, over n entries: the backward pass through ReLU from its output h.
  (func (export "reluBackward") (param $g i32) (param $h i32) (param $n i32)
    (local $at i32) (local $end i32) (local $vecEnd i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $g) (local.get $at))
          (v128.and
            (v128.load (i32.add (local.get $g) (local.get $at)))
            (f32x4.gt (v128.load (i32.add (local.get $h) (local.get $at))) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (i32.eqz (f32.gt (f32.load (i32.add (local.get $h) (local.get $at))) (f32.const 0)))
          (then (f32.store (i32.add (local.get $g) (local.get $at)) (f32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))

  ;; y ← y − x over n entries.
  (func (export "subtract") (param $y i32) (param $x i32) (param $n i32)
    (local $at i32) (local $end i32) (local $vecEnd i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $y) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $y) (local.get $at))) (v128.load (i32.add (local.get $x) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $y) (local.get $at))
          (f32.sub (f32.load (i32.add (local.get $y) (local.get $at))) (f32.load (i32.add (local.get $x) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))
)
