import * as tf from "@tensorflow/tfjs-core"
import { masked, noState, type Selector, type Transform } from "./transform.js"

/**
 * Coupled weight decay, PyTorch's weight_decay: rate·p added to the gradient of each parameter
 * (each one `select` picks, when given), so that the optimizer's scaling applies to it too.
 */
export const weightDecay = (rate: number, select?: Selector, name = "weight decay"): Transform => {
  const decay: Transform = {
    name,
    init: () => noState,
    update: (grads, state, params) => ({
      updates:
        rate > 0
          ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.add(g, tf.mul(params[k], rate))]))
          : grads,
      state
    })
  }
  return select === undefined ? decay : masked(select, decay, name)
}
