import * as tf from "@tensorflow/tfjs-core"

/**
 * How matrix products are computed. By default everything goes through tfjs kernels, and
 * products with a transposed operand take an explicit transposed copy: the transpose flags of
 * matMul are ten times slower on wasm's XNNPACK. When the backend layer installs a native BLAS it
 * registers it here: transposes then come free as flags, and FISTA's small per-step product on
 * host arrays skips the round trip through a tensor.
 */
export type HostGemm = (a: Float32Array, b: Float32Array, m: number, k: number, n: number) => Float32Array

let native: HostGemm | null = null

export const setNativeGemm = (gemm: HostGemm | null): void => {
  native = gemm
}

/** C = A·B on host arrays, row-major, when a native BLAS is registered. */
export const hostGemm = (): HostGemm | null => native

/** aᵀ·b. */
export const matMulAT = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
  (native !== null ? tf.matMul(a, b, true, false) : tf.matMul(tf.transpose(a), b)) as tf.Tensor2D

/** a·bᵀ. */
export const matMulBT = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
  (native !== null ? tf.matMul(a, b, false, true) : tf.matMul(a, tf.transpose(b))) as tf.Tensor2D

/** Whether a·bᵀ is as fast with the flag as with a kept transposed copy of b. */
export const transposeFlagsAreFast = (): boolean => native !== null

/**
 * Σ over rows (axis 0) of a matrix. On wasm a reduction over the first axis transposes first and
 * costs as much as a large product; as a product with a row of ones it goes to the BLAS.
 */
export const columnSums = (a: tf.Tensor2D): tf.Tensor1D =>
  (native !== null ? tf.reshape(tf.matMul(tf.ones([1, a.shape[0]]), a), [a.shape[1]]) : tf.sum(a, 0)) as tf.Tensor1D
