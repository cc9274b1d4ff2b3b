;; One proximal-gradient step over the live rows of a batch, the same arithmetic as `javascriptStep` in
;; ../fused-step.ts, two code entries at a time (f64x2). Every operation is the one JavaScript
;; performs, in the same order and in float64, and the per-row sums are added lane by lane in
;; column order, so the results are bit-identical to the JavaScript pass. Build with
;; `npm run kernels`, which writes fused-step.wasm.ts.
(module
  (memory (export "memory") 1)

  ;; Addresses are byte offsets into this memory. f32 arrays: y, z, enc (n×l, by row), g (one row
  ;; per live row, in order); f64 arrays of l: slope, offset and the four column-moment sums;
  ;; rows: the live rows' indices (i32); live (u8) and steps (i32) per row. l must be even. With
  ;; inParts, g holds the decoder's product P and target its n×l target T: the gradient is c·(P − T).
  ;; With momentum (the address of one float64 per row, else 0) each row extrapolates with its own
  ;; sequence, restarted where (y − z⁺)·(z⁺ − z) > 0, and rowStep holds l float64 for that.
  ;; With rowEta (the address of one float64 per row, else 0) each row takes its own step η and
  ;; threshold η·λ; prevGrad and prevY (n×l f32) keep the row's last gradient and point, from which
  ;; the curvature L̂ = ‖Δ∇f‖/‖Δy‖ sets the row's next η: 1/L̂ with a restart where η·L̂ > 1,
  ;; else min(growth·η, 1/L̂, etaMax); never below etaMin. With stepTolerance (and rowEta) a row's
  ;; convergence test reads its change per unit of its step where that step is longer than η:
  ;; ‖Δz‖² < tol2·max(1, η_row/η)²·‖z‖².
  (func (export "step")
    (param $rows i32) (param $nLive i32) (param $g i32) (param $y i32) (param $z i32) (param $enc i32)
    (param $slope i32) (param $offset i32) (param $liveSum i32) (param $liveSq i32)
    (param $frozenSum i32) (param $frozenSq i32) (param $live i32) (param $steps i32) (param $l i32)
    (param $eta f64) (param $threshold f64) (param $encoderWeight f64) (param $extrapolation f64) (param $tol2 f64)
    (param $inParts i32) (param $target i32) (param $gradientScale f64)
    (param $momentum i32) (param $rowStep i32)
    (param $rowEta i32) (param $prevGrad i32) (param $prevY i32) (param $lambda f64) (param $growth f64) (param $etaMax f64) (param $etaMin f64)
    (param $stepTolerance i32)
    (local $p i32) (local $i i32) (local $j i32) (local $rowBytes i32) (local $at i32) (local $gAt i32) (local $col i32)
    (local $change f64) (local $scale f64) (local $gap f64) (local $uphill f64) (local $m f64) (local $tNext f64) (local $e2 v128)
    (local $yq v128) (local $old v128) (local $d v128) (local $grad v128) (local $proposed v128) (local $next v128)
    (local $t v128) (local $gradientScale2 v128) (local $leaving v128) (local $kept v128)
    (local $curv f64) (local $dist f64) (local $etaRow f64) (local $ratio f64) (local $rowTol2 f64)
    (local $eta2 v128) (local $threshold2 v128) (local $encoderWeight2 v128) (local $extrapolation2 v128) (local $zero v128)
    (local.set $eta2 (f64x2.splat (local.get $eta)))
    (local.set $threshold2 (f64x2.splat (local.get $threshold)))
    (local.set $encoderWeight2 (f64x2.splat (local.get $encoderWeight)))
    (local.set $extrapolation2 (f64x2.splat (local.get $extrapolation)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $gradientScale2 (f64x2.splat (local.get $gradientScale)))
    (local.set $rowBytes (i32.shl (local.get $l) (i32.const 2)))
    (memory.fill (local.get $liveSum) (i32.const 0) (i32.shl (local.get $l) (i32.const 3)))
    (memory.fill (local.get $liveSq) (i32.const 0) (i32.shl (local.get $l) (i32.const 3)))
    (local.set $p (i32.const 0))
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $nLive)))
        (local.set $i (i32.load (i32.add (local.get $rows) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $change (f64.const 0))
        (local.set $scale (f64.const 0))
        (local.set $gap (f64.const 0))
        (local.set $uphill (f64.const 0))
        (local.set $curv (f64.const 0))
        (local.set $dist (f64.const 0))
        (if (local.get $rowEta)
          (then
            (local.set $etaRow (f64.load (i32.add (local.get $rowEta) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $eta2 (f64x2.splat (local.get $etaRow)))
            (local.set $threshold2 (f64x2.splat (f64.mul (local.get $etaRow) (local.get $lambda))))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $eachPair
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $l)))
            (local.set $at (i32.add (i32.mul (local.get $i) (local.get $rowBytes)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $gAt (i32.add (local.get $g) (i32.add (i32.mul (local.get $p) (local.get $rowBytes)) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $col (i32.shl (local.get $j) (i32.const 3)))
            (local.set $yq (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $y) (local.get $at)))))
            (local.set $old (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $z) (local.get $at)))))
            (local.set $d (f64x2.sub (local.get $yq) (local.get $old)))
            (local.set $t (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $gap (f64.add (f64.add (local.get $gap) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
            ;; g + slope·y − w·enc − offset
            (local.set $grad
              (f64x2.sub
                (f64x2.sub
                  (f64x2.add
                    (if (result v128) (local.get $inParts)
                      ;; the reconstruction's gradient in parts: c·(P − T), rounded to float32 as
                      ;; the decoder's own last pass stores it
                      (then
                        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero
                          (f64x2.mul (local.get $gradientScale2)
                            (f64x2.sub
                              (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $gAt)))
                              (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $target) (local.get $at)))))))))
                      (else (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $gAt)))))
                    (f64x2.mul (v128.load (i32.add (local.get $slope) (local.get $col))) (local.get $yq)))
                  (f64x2.mul (local.get $encoderWeight2) (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $enc) (local.get $at))))))
                (v128.load (i32.add (local.get $offset) (local.get $col)))))
            ;; the adaptive step's secant: the change of gradient and of point since the row's last step
            (if (local.get $rowEta)
              (then
                (local.set $t (f64x2.sub (local.get $grad)
                  (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $prevGrad) (local.get $at))))))
                (local.set $t (f64x2.mul (local.get $t) (local.get $t)))
                (local.set $curv (f64.add (f64.add (local.get $curv) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
                (local.set $t (f64x2.sub (local.get $yq)
                  (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $prevY) (local.get $at))))))
                (local.set $t (f64x2.mul (local.get $t) (local.get $t)))
                (local.set $dist (f64.add (f64.add (local.get $dist) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
                (v128.store64_lane align=4 0 (i32.add (local.get $prevGrad) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $grad)))
                (v128.store64_lane align=4 0 (i32.add (local.get $prevY) (local.get $at))
                  (v128.load64_zero align=4 (i32.add (local.get $y) (local.get $at))))))
            ;; max(y − η·grad − threshold, 0), where NaN gives 0 as in JavaScript's v > 0 ? v : 0
            (local.set $proposed
              (f64x2.sub
                (f64x2.sub (local.get $yq) (f64x2.mul (local.get $eta2) (local.get $grad)))
                (local.get $threshold2)))
            (local.set $proposed
              (v128.bitselect (local.get $proposed) (local.get $zero) (f64x2.gt (local.get $proposed) (local.get $zero))))
            (local.set $d (f64x2.sub (local.get $proposed) (local.get $old)))
            (local.set $t (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $change (f64.add (f64.add (local.get $change) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
            (local.set $t (f64x2.mul (local.get $old) (local.get $old)))
            (local.set $scale (f64.add (f64.add (local.get $scale) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
            (v128.store64_lane align=4 0 (i32.add (local.get $z) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $proposed)))
            (if (local.get $momentum)
              ;; a momentum sequence per row: keep the step and the restart test's sum for below
              (then
                (local.set $t (f64x2.mul (f64x2.sub (local.get $yq) (local.get $proposed)) (local.get $d)))
                (local.set $uphill (f64.add (f64.add (local.get $uphill) (f64x2.extract_lane 0 (local.get $t))) (f64x2.extract_lane 1 (local.get $t))))
                (v128.store (i32.add (local.get $rowStep) (local.get $col)) (local.get $d)))
              (else
                (local.set $next (f64x2.add (local.get $proposed) (f64x2.mul (local.get $extrapolation2) (local.get $d))))
                (v128.store64_lane align=4 0 (i32.add (local.get $y) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $next)))
                (v128.store (i32.add (local.get $liveSum) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $liveSum) (local.get $col))) (local.get $next)))
                (v128.store (i32.add (local.get $liveSq) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $liveSq) (local.get $col))) (f64x2.mul (local.get $next) (local.get $next))))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $eachPair)))
        ;; the row's next step from the curvature it met; a step that was too long restarts the momentum
        (if (i32.and (i32.ne (local.get $rowEta) (i32.const 0))
              (i32.and (i32.gt_s (i32.load (i32.add (local.get $steps) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 0))
                       (f64.gt (local.get $dist) (f64.const 0))))
          (then
            (local.set $ratio (f64.mul (local.get $etaRow) (f64.sqrt (f64.div (local.get $curv) (local.get $dist)))))
            (if (f64.gt (local.get $ratio) (f64.const 1))
              (then
                (f64.store (i32.add (local.get $rowEta) (i32.shl (local.get $i) (i32.const 3)))
                  (f64.max (f64.div (local.get $etaRow) (local.get $ratio)) (local.get $etaMin)))
                (local.set $uphill (f64.const 1)))
              (else
                (f64.store (i32.add (local.get $rowEta) (i32.shl (local.get $i) (i32.const 3)))
                  (f64.min
                    (f64.min (f64.mul (local.get $etaRow) (local.get $growth)) (f64.div (local.get $etaRow) (local.get $ratio)))
                    (local.get $etaMax)))))))
        ;; the row's own extrapolation, restarted where the momentum carried it uphill
        (if (local.get $momentum)
          (then
            (local.set $m (f64.load (i32.add (local.get $momentum) (i32.shl (local.get $i) (i32.const 3)))))
            (if (f64.gt (local.get $uphill) (f64.const 0))
              (then
                (f64.store (i32.add (local.get $momentum) (i32.shl (local.get $i) (i32.const 3))) (f64.const 1))
                (local.set $e2 (local.get $zero)))
              (else
                (local.set $tNext
                  (f64.div
                    (f64.add (f64.const 1)
                      (f64.sqrt (f64.add (f64.const 1) (f64.mul (f64.mul (f64.const 4) (local.get $m)) (local.get $m)))))
                    (f64.const 2)))
                (local.set $e2 (f64x2.splat (f64.div (f64.sub (local.get $m) (f64.const 1)) (local.get $tNext))))
                (f64.store (i32.add (local.get $momentum) (i32.shl (local.get $i) (i32.const 3))) (local.get $tNext))))
            (local.set $j (i32.const 0))
            (block $extrapolated
              (loop $eachStepPair
                (br_if $extrapolated (i32.ge_u (local.get $j) (local.get $l)))
                (local.set $at (i32.add (i32.mul (local.get $i) (local.get $rowBytes)) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $col (i32.shl (local.get $j) (i32.const 3)))
                (local.set $next
                  (f64x2.add
                    (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $z) (local.get $at))))
                    (f64x2.mul (local.get $e2) (v128.load (i32.add (local.get $rowStep) (local.get $col))))))
                (v128.store64_lane align=4 0 (i32.add (local.get $y) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $next)))
                (v128.store (i32.add (local.get $liveSum) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $liveSum) (local.get $col))) (local.get $next)))
                (v128.store (i32.add (local.get $liveSq) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $liveSq) (local.get $col))) (f64x2.mul (local.get $next) (local.get $next))))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $eachStepPair)))))
        ;; settle: count the step, then freeze a row at a fixed point or within tolerance, which with
        ;; stepTolerance is read per unit of the row's step where that step is longer than η:
        ;; tol2·max(1, η_row/η)²
        (local.set $rowTol2 (local.get $tol2))
        (if (i32.and (i32.ne (local.get $rowEta) (i32.const 0)) (local.get $stepTolerance))
          (then
            (local.set $ratio (f64.max (f64.const 1) (f64.div (local.get $etaRow) (local.get $eta))))
            (local.set $rowTol2 (f64.mul (local.get $tol2) (f64.mul (local.get $ratio) (local.get $ratio))))))
        (i32.store (i32.add (local.get $steps) (i32.shl (local.get $i) (i32.const 2)))
          (i32.add (i32.load (i32.add (local.get $steps) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 1)))
        (if (i32.or
              (i32.and (f64.eq (local.get $change) (f64.const 0)) (f64.eq (local.get $gap) (f64.const 0)))
              (i32.and (f64.gt (local.get $change) (f64.const 0))
                       (f64.lt (local.get $change) (f64.mul (local.get $rowTol2) (local.get $scale)))))
          (then
            (i32.store8 (i32.add (local.get $live) (local.get $i)) (i32.const 0))
            (local.set $j (i32.const 0))
            (block $freezeDone
              (loop $eachFrozenPair
                (br_if $freezeDone (i32.ge_u (local.get $j) (local.get $l)))
                (local.set $at (i32.add (i32.mul (local.get $i) (local.get $rowBytes)) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $col (i32.shl (local.get $j) (i32.const 3)))
                (local.set $leaving (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $y) (local.get $at)))))
                (local.set $kept (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $z) (local.get $at)))))
                (v128.store (i32.add (local.get $liveSum) (local.get $col))
                  (f64x2.sub (v128.load (i32.add (local.get $liveSum) (local.get $col))) (local.get $leaving)))
                (v128.store (i32.add (local.get $liveSq) (local.get $col))
                  (f64x2.sub (v128.load (i32.add (local.get $liveSq) (local.get $col))) (f64x2.mul (local.get $leaving) (local.get $leaving))))
                (v128.store (i32.add (local.get $frozenSum) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $frozenSum) (local.get $col))) (local.get $kept)))
                (v128.store (i32.add (local.get $frozenSq) (local.get $col))
                  (f64x2.add (v128.load (i32.add (local.get $frozenSq) (local.get $col))) (f64x2.mul (local.get $kept) (local.get $kept))))
                (v128.store64_lane align=4 0 (i32.add (local.get $y) (local.get $at))
                  (v128.load64_zero align=4 (i32.add (local.get $z) (local.get $at))))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $eachFrozenPair)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $eachRow))))
)
