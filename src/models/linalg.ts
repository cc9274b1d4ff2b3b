import * as tf from "@tensorflow/tfjs-core"
import type { InferencePass } from "./inference/pass.js"

/**
 * How the maths computes its matrix products and in-place updates: a value made by whoever set up
 * the backend and handed to the decoder, the encoder and the optimizers when they are made, so
 * that two models in one process may use different kernels and nothing depends on import order.
 */

/** C = A·B on host arrays, row-major. */
/** a (m×k) · b (k×n), row-major, into `out` (m·n values) when given, else into a new array. */
export type HostGemm = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out?: Float32Array
) => Float32Array

/**
 * Element-wise updates written into a variable's own storage by a native BLAS (level 1), for
 * optimizers whose state is as large as the decoder: on the wasm backend each tensor operation
 * reads and writes every element and allocates its result, and Adam needs a dozen of them.
 */
export interface InPlace {
  /** Whether `y` alone owns storage that can be written in place (no clone or view shares it). */
  readonly writable: (y: tf.Variable) => boolean
  /** y ← alpha·x + beta·y in y's storage; x and y have the same size. Only on writable y. */
  readonly axpby: (alpha: number, x: tf.Tensor, beta: number, y: tf.Variable) => void
}

export interface Linalg {
  /** aᵀ·b. */
  readonly matMulAT: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D
  /** a·bᵀ. */
  readonly matMulBT: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D
  /** Σ over rows (axis 0) of a matrix. */
  readonly columnSums: (a: tf.Tensor2D) => tf.Tensor1D
  /** Whether a·bᵀ is as fast with the flag as with a kept transposed copy of b. */
  readonly transposeFlagsAreFast: boolean
  /** A native product on host arrays, for FISTA's small per-step product without a tensor round trip. */
  readonly hostGemm: HostGemm | null
  /** In-place updates for the optimizers; without them they keep their tensor path. */
  readonly inPlace: InPlace | null
  /**
   * Where inference's per-entry pass runs, as the backend chose it (BackendInfo.hasDevice); absent,
   * the host's WebAssembly SIMD kernel.
   */
  readonly inferencePass?: InferencePass
}

/**
 * Everything through tfjs kernels, on any backend. Products with a transposed operand take an
 * explicit transposed copy: the transpose flags of matMul are ten times slower on wasm's XNNPACK.
 */
export const tfjsLinalg: Linalg = {
  matMulAT: (a, b) => tf.matMul(tf.transpose(a), b) as tf.Tensor2D,
  matMulBT: (a, b) => tf.matMul(a, tf.transpose(b)) as tf.Tensor2D,
  columnSums: (a) => tf.sum(a, 0) as tf.Tensor1D,
  transposeFlagsAreFast: false,
  hostGemm: null,
  inPlace: null
}

/**
 * With tf.matMul backed by a native BLAS: transposes come free as flags, and a reduction over the
 * first axis, which on wasm transposes first and costs as much as a large product, becomes a
 * product with a row of ones.
 */
export const blasLinalg = (hostGemm: HostGemm, inPlace: InPlace | null): Linalg => ({
  matMulAT: (a, b) => tf.matMul(a, b, true, false) as tf.Tensor2D,
  matMulBT: (a, b) => tf.matMul(a, b, false, true) as tf.Tensor2D,
  columnSums: (a) => tf.reshape(tf.matMul(tf.ones([1, a.shape[0]]), a), [a.shape[1]]) as tf.Tensor1D,
  transposeFlagsAreFast: true,
  hostGemm,
  inPlace
})
