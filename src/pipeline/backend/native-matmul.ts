import * as tf from "@tensorflow/tfjs-core"
import { Data } from "effect"
import { createRequire } from "node:module"
import { blasLinalg, type Linalg } from "../../models/linalg.js"
import { heapElementwise, heapEntryCounts, heapInPlace } from "./heap-updates.js"

/**
 * Matrix products through the machine's BLAS (OpenBLAS, MKL, BLIS or Accelerate), called with
 * koffi's FFI on the wasm backend's own heap, so no tensor is copied. XNNPACK in WebAssembly
 * reaches 10–20 GFLOP/s on one core; a native sgemm reaches several times that, and the
 * products of the decoder are most of the work of training. Everything else stays on wasm.
 */
export interface NativeMatMul {
  readonly library: string
  readonly threads: number | null
  /** The products and in-place updates the maths is to be handed: tf.matMul is native now. */
  readonly linalg: Linalg
  /** Seconds per call of a product of this shape on fresh host arrays, on `threads` threads (median of `rounds`). */
  readonly timeProduct: (shape: ProductShape, threads: number, rounds?: number) => number
  /** Tell `observer` the shape of every product from now on (null: stop). */
  readonly watch: (observer: ((shape: ProductShape) => void) | null) => void
}

/** One product C (m×n) = op(A)·op(B) with the inner size k, as the kernel sees it. */
export interface ProductShape {
  readonly m: number
  readonly k: number
  readonly n: number
  readonly transposeA: boolean
  readonly transposeB: boolean
}

/** The BLAS that SPARSE_VDL_BLAS names cannot be used for the products. */
export class NativeBlasError extends Data.TaggedError("NativeBlasError")<{
  readonly library: string
  readonly problem: string
}> {
  override get message(): string {
    return `SPARSE_VDL_BLAS=${this.library} cannot be used: ${this.problem}. Set it to the path of a BLAS library with cblas_sgemm (OpenBLAS: apt-get install libopenblas0-pthread), unset it to take the first BLAS found, or set SPARSE_VDL_BLAS=off to keep XNNPACK.`
  }
}

type Sgemm = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number
) => void

const ROW_MAJOR = 101
const NO_TRANS = 111
const TRANS = 112

const libraryCandidates = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libmkl_rt.so.2",
  "libmkl_rt.so",
  "libblis.so.4",
  "libopenblas.dylib",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate"
]

interface Loaded {
  readonly sgemm: Sgemm
  readonly library: string
  readonly setThreads: ((n: number) => void) | null
}

const load = (explicit: string | undefined): Loaded | string => {
  let koffi: { load: (path: string) => { func: (signature: string) => unknown } }
  try {
    koffi = createRequire(import.meta.url)("koffi")
  } catch {
    return "the optional package koffi is not installed"
  }
  const tried: string[] = []
  for (const library of explicit !== undefined ? [explicit] : libraryCandidates) {
    try {
      const lib = koffi.load(library)
      const sgemm = lib.func(
        "void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, _Inout_ float *C, int ldc)"
      ) as Sgemm
      let setThreads: ((n: number) => void) | null = null
      try {
        setThreads = lib.func("void openblas_set_num_threads(int n)") as (n: number) => void
      } catch {
        setThreads = null
      }
      return { sgemm, library, setThreads }
    } catch (e) {
      tried.push(`${library} (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
    }
  }
  return `no BLAS with cblas_sgemm could be loaded: ${tried.join("; ")}`
}

interface WasmBackendLike {
  makeOutput: (shape: number[], dtype: tf.DataType) => tf.TensorInfo
  typedArrayFromHeap: (t: tf.TensorInfo) => Float32Array
}

/**
 * tfjs's kernel registry is its own process-wide global, so the replaced kernel is too: this
 * remembers what was installed there, and a second selection of the backend gets the first one.
 */
let active: NativeMatMul | null = null

/**
 * Replace the wasm backend's BatchMatMul kernel by one that calls sgemm, and return the Linalg
 * that goes with it. Batched products with equal or broadcast (size 1) batch dimensions are
 * supported; anything else, and non-float32 inputs, go to the original kernel.
 */
export const installNativeMatMul = (options: { library?: string; threads?: number } = {}): NativeMatMul | string => {
  if (active !== null) return active
  const loaded = load(options.library)
  if (typeof loaded === "string") return loaded
  const original = tf.getKernel("BatchMatMul", "wasm")
  if (original === undefined) return "the wasm backend is not registered"
  const { sgemm, setThreads } = loaded
  const most = options.threads ?? null
  // Every product on every thread given: measured with bench --products, a second thread paid on
  // every shape of training down to 50×128×128, and below that OpenBLAS keeps to one by itself.
  if (most !== null && setThreads !== null) setThreads(most)
  let observer: ((shape: ProductShape) => void) | null = null
  tf.unregisterKernel("BatchMatMul", "wasm")
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean }
      const ra = a.shape.length
      const rb = b.shape.length
      const batchA = a.shape.slice(0, -2).reduce((p, q) => p * q, 1)
      const batchB = b.shape.slice(0, -2).reduce((p, q) => p * q, 1)
      const sameOuter = ra === rb && a.shape.slice(0, -2).every((s, i) => s === b.shape[i])
      if (
        a.dtype !== "float32" ||
        b.dtype !== "float32" ||
        !(sameOuter || batchA === 1 || batchB === 1) ||
        (ra > 2 && rb > 2 && !sameOuter)
      ) {
        return original.kernelFunc(args)
      }
      const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
      const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
      const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2]
      const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
      if (k !== kb) return original.kernelFunc(args)
      const outer = (batchA >= batchB ? a : b).shape.slice(0, -2)
      const batch = Math.max(batchA, batchB)
      const backend = args.backend as unknown as WasmBackendLike
      const out = backend.makeOutput([...outer, m, n], "float32")
      // Views are taken after allocating the output: allocation may grow (and move) the heap.
      const av = backend.typedArrayFromHeap(a)
      const bv = backend.typedArrayFromHeap(b)
      const cv = backend.typedArrayFromHeap(out)
      observer?.({ m, k, n, transposeA, transposeB })
      for (let i = 0; i < batch; i++) {
        const ai = batchA === 1 ? 0 : i * m * k
        const bi = batchB === 1 ? 0 : i * k * n
        sgemm(
          ROW_MAJOR,
          transposeA ? TRANS : NO_TRANS,
          transposeB ? TRANS : NO_TRANS,
          m,
          n,
          k,
          1,
          av.subarray(ai, ai + m * k),
          transposeA ? m : k,
          bv.subarray(bi, bi + k * n),
          transposeB ? k : n,
          0,
          cv.subarray(i * m * n, (i + 1) * m * n),
          n
        )
      }
      return out
    }
  })
  const hostGemm = (
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    out?: Float32Array
  ): Float32Array => {
    const c = out ?? new Float32Array(m * n)
    observer?.({ m, k, n, transposeA: false, transposeB: false })
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1, a, k, b, n, 0, c, n)
    return c
  }
  const timeProduct = (shape: ProductShape, threads: number, rounds = 3): number => {
    const { m, k, n, transposeA, transposeB } = shape
    const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 17) / 17 - 0.5)
    const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 13) / 13 - 0.5)
    const c = new Float32Array(m * n)
    const call = () =>
      sgemm(
        ROW_MAJOR,
        transposeA ? TRANS : NO_TRANS,
        transposeB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        1,
        a,
        transposeA ? m : k,
        b,
        transposeB ? k : n,
        0,
        c,
        n
      )
    // About 20 ms of work per round, at least 5 calls.
    const calls = Math.max(5, Math.round(2e-2 / ((2 * m * k * n) / 50e9)))
    const seconds: number[] = []
    setThreads?.(threads)
    try {
      call()
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now()
        for (let i = 0; i < calls; i++) call()
        seconds.push((performance.now() - t0) / 1000 / calls)
      }
    } finally {
      if (most !== null) setThreads?.(most)
    }
    return seconds.sort((p, q) => p - q)[Math.floor(seconds.length / 2)]
  }
  const linalg = blasLinalg(hostGemm, heapInPlace(), heapEntryCounts(), heapElementwise())
  active = {
    library: loaded.library,
    threads: most,
    linalg,
    timeProduct,
    watch: (next) => {
      observer = next
    }
  }
  return active
}
