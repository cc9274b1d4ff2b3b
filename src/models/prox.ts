import * as tf from "@tensorflow/tfjs-core"

/**
 * Proximal operator of threshold·‖z‖₁ + indicator(z ≥ 0): the non-negative soft threshold.
 * Its closed form is max(0, u − threshold), elementwise.
 */
export const nonNegativeSoftThreshold = (u: tf.Tensor, threshold: number): tf.Tensor =>
  tf.tidy(() => tf.relu(tf.sub(u, threshold)))
