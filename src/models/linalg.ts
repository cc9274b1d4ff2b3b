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
 * One Adam step of a parameter p with moments m and v and gradient g:
 * m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p + scale·m/(√v + epsilon), where the caller
 * folds the learning rate and the bias corrections into scale and epsilon.
 */
export interface AdamStep {
  readonly g: tf.Tensor
  readonly m: tf.Variable
  readonly v: tf.Variable
  readonly p: tf.Variable
  readonly beta1: number
  readonly beta2: number
  readonly scale: number
  readonly epsilon: number
}

/**
 * Element-wise updates written into a variable's own storage, for optimizers whose state is as
 * large as the decoder: on the wasm backend each tensor operation reads and writes every element
 * and allocates its result, and Adam needs a dozen of them.
 */
export interface InPlace {
  /** Whether `y` alone owns storage that can be written in place (no clone or view shares it). */
  readonly writable: (y: tf.Variable) => boolean
  /** y ← alpha·x + beta·y in y's storage; x and y have the same size. Only on writable y. */
  readonly axpby: (alpha: number, x: tf.Tensor, beta: number, y: tf.Variable) => void
  /** One Adam step in the storage of p, m and v, all writable, in one pass. */
  readonly adam: (step: AdamStep) => void
}

/** The exactly-zero and the non-finite (NaN, ±∞) entries of a tensor. */
export interface EntryCounts {
  readonly zeros: number
  readonly nonFinite: number
}

/**
 * Element-wise steps of a dense stack written over a fresh result, the product they follow: one
 * pass and no allocation, where the tensor operations take two passes and a new tensor each.
 * Each returns the tensor it wrote into, or a new one computed by tensor operations where that
 * tensor's storage is shared.
 */
export interface Elementwise {
  /** relu(pre + bias), bias one value per column or null. */
  readonly biasRelu: (pre: tf.Tensor2D, bias: tf.Tensor | null) => tf.Tensor2D
  /** g where h > 0, else 0: the backward pass through a ReLU from its output h. */
  readonly reluBackward: (g: tf.Tensor2D, h: tf.Tensor2D) => tf.Tensor2D
  /** y − x. */
  readonly subtract: (y: tf.Tensor2D, x: tf.Tensor2D) => tf.Tensor2D
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
  /** Counts read where a tensor lives, in one pass; without it, tensor operations count. */
  readonly entryCounts: ((t: tf.Tensor) => EntryCounts) | null
  /** The dense stack's element-wise steps in place; without them, tensor operations. */
  readonly elementwise: Elementwise | null
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
  inPlace: null,
  entryCounts: null,
  elementwise: null
}

/**
 * With tf.matMul backed by a native BLAS: transposes come free as flags, and a reduction over the
 * first axis, which on wasm transposes first and costs as much as a large product, becomes a
 * product with a row of ones.
 */
export const blasLinalg = (
  hostGemm: HostGemm,
  inPlace: InPlace | null,
  entryCounts: Linalg["entryCounts"],
  elementwise: Elementwise | null
): Linalg => ({
  matMulAT: (a, b) => tf.matMul(a, b, true, false) as tf.Tensor2D,
  matMulBT: (a, b) => tf.matMul(a, b, false, true) as tf.Tensor2D,
  columnSums: (a) => tf.reshape(tf.matMul(tf.ones([1, a.shape[0]]), a), [a.shape[1]]) as tf.Tensor1D,
  transposeFlagsAreFast: true,
  hostGemm,
  inPlace,
  entryCounts,
  elementwise
})
