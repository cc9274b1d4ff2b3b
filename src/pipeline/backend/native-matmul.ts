import * as tf from "@tensorflow/tfjs-core"
import { Data } from "effect"
import { createRequire } from "node:module"
import { blasLinalg, type InPlace, type Linalg } from "../../models/linalg.js"

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

type Saxpby = (
  n: number,
  alpha: number,
  x: Float32Array,
  incx: number,
  beta: number,
  y: Float32Array,
  incy: number
) => void

interface Loaded {
  readonly sgemm: Sgemm
  /** An extension (OpenBLAS, MKL) that not every BLAS has. */
  readonly saxpby: Saxpby | null
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
      let saxpby: Saxpby | null = null
      try {
        saxpby = lib.func(
          "void cblas_saxpby(int n, float alpha, const float *x, int incx, float beta, _Inout_ float *y, int incy)"
        ) as Saxpby
      } catch {
        saxpby = null
      }
      return { sgemm, saxpby, library, setThreads }
    } catch (e) {
      tried.push(`${library} (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
    }
  }
  return `no BLAS with cblas_sgemm could be loaded: ${tried.join("; ")}`
}

interface WasmBackendLike {
  makeOutput: (shape: number[], dtype: tf.DataType) => tf.TensorInfo
  typedArrayFromHeap: (t: tf.TensorInfo) => Float32Array
  refCount: (dataId: tf.DataId) => number
}

/** In-place updates on the wasm heap; checked per call, since a process may switch backends. */
const wasmInPlace = (saxpby: Saxpby): InPlace => {
  const wasm = (): WasmBackendLike | null =>
    tf.getBackend() === "wasm" ? (tf.backend() as unknown as WasmBackendLike) : null
  return {
    writable: (y) => {
      const backend = wasm()
      return backend !== null && y.dtype === "float32" && !y.isDisposed && backend.refCount(y.dataId) === 1
    },
    axpby: (alpha, x, beta, y) => {
      const backend = wasm()
      if (backend === null || x.size !== y.size)
        throw new Error(`axpby: ${x.size} values onto ${y.size}, or not on the wasm backend`)
      // Views last: nothing is allocated between taking them and the call.
      saxpby(y.size, alpha, backend.typedArrayFromHeap(x), 1, beta, backend.typedArrayFromHeap(y), 1)
    }
  }
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
  if (options.threads !== undefined && loaded.setThreads !== null) loaded.setThreads(options.threads)
  const { sgemm } = loaded
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
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1, a, k, b, n, 0, c, n)
    return c
  }
  const linalg = blasLinalg(hostGemm, loaded.saxpby === null ? null : wasmInPlace(loaded.saxpby))
  active = { library: loaded.library, threads: options.threads ?? null, linalg }
  return active
}
