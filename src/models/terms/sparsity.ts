import * as tf from "@tensorflow/tfjs-core"
import { sparsityDocs, sparsityFields } from "./sparsity.declaration.js"

/** prox of threshold·|u| + indicator(u ≥ 0) at one entry: max(0, u − threshold). */
export const nonNegativeShrink = (u: number, threshold: number): number => {
  const v = u - threshold
  return v > 0 ? v : 0
}

/**
 * The sparsity term λ‖z‖₁ with the constraint z ≥ 0. It is not smooth, so inference does not take
 * its gradient but its proximal operator, the non-negative soft threshold.
 */
export const sparsity = {
  name: "sparsity",
  description: "λ‖z‖₁ over z ≥ 0, through its proximal operator",
  fields: sparsityFields,
  docs: sparsityDocs,
  /** λ‖z‖₁ summed over the batch. Must run inside a tidy. */
  value: (z: tf.Tensor2D, lambda: number): tf.Scalar => tf.mul(tf.sum(tf.abs(z)), lambda) as tf.Scalar
}
