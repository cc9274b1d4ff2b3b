import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { NonNegative } from "./fields.js"

/**
 * The sparsity term λ‖z‖₁ with the constraint z ≥ 0. It is not smooth, so inference does not take
 * its gradient but its proximal operator, the non-negative soft threshold.
 */
const fields = { lambda: NonNegative }

const docs: SettingDocs<Schema.Struct.Type<typeof fields>> = {
  lambda: { label: "λ (sparsity)", help: "sparsity weight λ", cli: "number" }
}

/** prox of threshold·|u| + indicator(u ≥ 0) at one entry: max(0, u − threshold). */
export const nonNegativeShrink = (u: number, threshold: number): number => {
  const v = u - threshold
  return v > 0 ? v : 0
}

export const sparsity = {
  name: "sparsity",
  description: "λ‖z‖₁ over z ≥ 0, through its proximal operator",
  fields,
  docs,
  /** λ‖z‖₁ summed over the batch. Must run inside a tidy. */
  value: (z: tf.Tensor2D, lambda: number): tf.Scalar => tf.mul(tf.sum(tf.abs(z)), lambda) as tf.Scalar
}
