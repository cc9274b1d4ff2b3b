import * as tf from "@tensorflow/tfjs-core"
import type { Selector, UpdateTransform } from "./transform.js"

/** Coupled weight decay, PyTorch's weight_decay: rate·p added to the gradient of each selected p. */
export const weightDecay = (rate: number, select: Selector, name = "weight decay"): UpdateTransform => ({
  name,
  gradients: (grads, params) =>
    rate > 0
      ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, select(k) ? tf.add(g, tf.mul(params[k], rate)) : g]))
      : grads
})
