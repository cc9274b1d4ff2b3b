import * as tf from "@tensorflow/tfjs-core"
import type { ActivationName } from "./activation-names.js"

export { type ActivationName, activationNames } from "./activation-names.js"

/**
 * The activations a decoder may put between its layers. Each is 1-Lipschitz, so that the product
 * of the layers' spectral norms still bounds a dense stack's Jacobian, and each has its slope as a
 * function of its output h, which is what the hand-written backward pass keeps.
 */
export interface Activation {
  readonly apply: (pre: tf.Tensor) => tf.Tensor
  /** dh/d(pre) from h = apply(pre). */
  readonly slope: (h: tf.Tensor) => tf.Tensor
}

export const activations = {
  relu: { apply: (pre) => tf.relu(pre), slope: (h) => tf.step(h) },
  tanh: { apply: (pre) => tf.tanh(pre), slope: (h) => tf.sub(1, tf.square(h)) },
  // h = log(1 + eᵃ), so e⁻ʰ = 1/(1 + eᵃ) and the slope σ(a) = 1 − e⁻ʰ.
  softplus: { apply: (pre) => tf.softplus(pre), slope: (h) => tf.sub(1, tf.exp(tf.neg(h))) }
} as const satisfies Record<ActivationName, Activation>
