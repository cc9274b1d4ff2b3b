import * as tf from "@tensorflow/tfjs-core"
import type { AdamStep, Elementwise, EntryCounts, InPlace } from "../../models/linalg.js"
import { zeroAndNonFiniteCounts } from "../../models/metrics.js"
import { wasmBase64 } from "./kernels/heap-updates.wasm.js"

/**
 * The optimizers' element-wise updates written into the variables' own storage on the wasm
 * backend, by a WebAssembly SIMD kernel (kernels/heap-updates.wat) that imports the backend's
 * memory. Adam in one pass reads and writes each entry once; as tensor operations it reads the
 * whole decoder a dozen times and allocates as many results, which made it a tenth of VDL-NL's step.
 */
interface HeapKernel {
  readonly adam: (
    p: number,
    m: number,
    v: number,
    g: number,
    n: number,
    beta1: number,
    beta2: number,
    scale: number,
    epsilon: number
  ) => void
  readonly axpby: (n: number, alpha: number, x: number, beta: number, y: number) => void
  readonly counts: (x: number, n: number) => number
  readonly biasRelu: (h: number, b: number, rows: number, cols: number) => void
  readonly reluBackward: (g: number, h: number, n: number) => void
  readonly subtract: (y: number, x: number, n: number) => void
}

interface WasmBackendLike {
  readonly wasm: { readonly asm: { readonly memory?: object } }
  typedArrayFromHeap: (t: tf.TensorInfo) => Float32Array
  refCount: (dataId: tf.DataId) => number
}

/** The part of the WebAssembly API used here; the project's type libraries leave it out. */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
}
const wasmApi = (globalThis as unknown as { readonly WebAssembly?: WasmApi }).WebAssembly

let compiled: object | null | undefined
/** One instance per backend memory: a process may set up the wasm backend again. */
const instances = new WeakMap<object, HeapKernel>()

const kernelFor = (memory: object): HeapKernel | null => {
  if (compiled === undefined) {
    try {
      compiled = wasmApi === undefined ? null : new wasmApi.Module(Buffer.from(wasmBase64, "base64"))
    } catch {
      compiled = null
    }
  }
  if (compiled === null || wasmApi === undefined) return null
  let kernel = instances.get(memory)
  if (kernel === undefined) {
    kernel = new wasmApi.Instance(compiled, { env: { memory } }).exports as HeapKernel
    instances.set(memory, kernel)
  }
  return kernel
}

/** The wasm backend in use with its memory, or null on another backend. */
const activeWasm = (): { backend: WasmBackendLike; kernel: HeapKernel } | null => {
  if (tf.getBackend() !== "wasm") return null
  const backend = tf.backend() as unknown as WasmBackendLike
  const memory = backend.wasm?.asm?.memory
  const kernel = memory === undefined ? null : kernelFor(memory)
  return kernel === null ? null : { backend, kernel }
}

/** A tensor's byte offset in the backend's memory; read just before a call, with nothing allocated between. */
const at = (backend: WasmBackendLike, t: tf.Tensor): number => backend.typedArrayFromHeap(t).byteOffset

/** Whether this runtime can run the kernel against the wasm backend's memory (WebAssembly SIMD, an exported memory). */
export const heapUpdatesLoad = (): boolean => activeWasm() !== null

/**
 * In-place updates on the wasm backend's memory, checked per call since a process may switch
 * backends; null where the kernel cannot load, and the optimizers keep their tensor path.
 */
export const heapInPlace = (): InPlace | null => {
  if (activeWasm() === null) return null
  const current = (what: string) => {
    const active = activeWasm()
    if (active === null) throw new Error(`${what}: the wasm backend is no longer the active one`)
    return active
  }
  return {
    writable: (y) => {
      const active = activeWasm()
      return active !== null && y.dtype === "float32" && !y.isDisposed && active.backend.refCount(y.dataId) === 1
    },
    axpby: (alpha, x, beta, y) => {
      if (x.size !== y.size) throw new Error(`axpby: ${x.size} values onto ${y.size}`)
      const { backend, kernel } = current("axpby")
      kernel.axpby(y.size, alpha, at(backend, x), beta, at(backend, y))
    },
    adam: (step: AdamStep) => {
      const { g, m, v, p } = step
      if (g.size !== p.size || m.size !== p.size || v.size !== p.size)
        throw new Error(`adam: sizes ${g.size}, ${m.size}, ${v.size} for a parameter of ${p.size}`)
      const { backend, kernel } = current("adam")
      kernel.adam(
        at(backend, p),
        at(backend, m),
        at(backend, v),
        at(backend, g),
        p.size,
        step.beta1,
        step.beta2,
        step.scale,
        step.epsilon
      )
    }
  }
}

/** Zero and non-finite entries counted in the wasm backend's memory, one SIMD pass and no copy; null where the kernel cannot load. */
export const heapEntryCounts = (): ((t: tf.Tensor) => EntryCounts) | null => {
  if (activeWasm() === null) return null
  return (t) => {
    const active = activeWasm()
    if (active === null || t.dtype !== "float32") {
      // Another backend now, or integers: the tensor operations count.
      return zeroAndNonFiniteCounts(t)
    }
    const packed = active.kernel.counts(at(active.backend, t), t.size)
    const nonFinite = Math.floor(packed / 2 ** 32)
    return { zeros: packed - nonFinite * 2 ** 32, nonFinite }
  }
}

/**
 * A dense stack's element-wise steps written over the product they follow, on the wasm backend's
 * memory; null where the kernel cannot load. A tensor whose storage is shared (refCount above 1)
 * or that lives elsewhere gets the tensor operations instead.
 */
export const heapElementwise = (): Elementwise | null => {
  if (activeWasm() === null) return null
  const owned = (t: tf.Tensor) => {
    const active = activeWasm()
    return active !== null && t.dtype === "float32" && active.backend.refCount(t.dataId) === 1 ? active : null
  }
  return {
    biasRelu: (pre, bias) => {
      const active = owned(pre)
      const cols = pre.shape[1]
      if (active === null || (bias !== null && (bias.size !== cols || bias.dtype !== "float32")))
        return tf.relu(bias === null ? pre : tf.add(pre, bias)) as tf.Tensor2D
      active.kernel.biasRelu(at(active.backend, pre), bias === null ? 0 : at(active.backend, bias), pre.shape[0], cols)
      return pre
    },
    reluBackward: (g, h) => {
      const active = owned(g)
      if (active === null || h.size !== g.size || h.dtype !== "float32") return tf.mul(g, tf.step(h)) as tf.Tensor2D
      active.kernel.reluBackward(at(active.backend, g), at(active.backend, h), g.size)
      return g
    },
    subtract: (y, x) => {
      const active = owned(y)
      if (active === null || x.size !== y.size || x.dtype !== "float32") return tf.sub(y, x) as tf.Tensor2D
      active.kernel.subtract(at(active.backend, y), at(active.backend, x), y.size)
      return y
    }
  }
}
