import * as tf from "@tensorflow/tfjs-core"
import { adamwDeclaration } from "./adamw.declaration.js"
import { adamApply, adamDefaults, adamLayout, type AdamSettings } from "./adam.js"
import { optimizerKind } from "./kind.js"
import { type Transform, shapesOf, zeroState } from "./transform.js"

/**
 * AdamW (Loshchilov & Hutter) as PyTorch's: each parameter shrunk by lr·rate, decoupled from
 * the gradient and so from Adam's scaling, then Adam's step. Its state is Adam's.
 */
export const adamw = (rate: number, settings: AdamSettings = adamDefaults): Transform => ({
  name: "adamw",
  init: (params) => zeroState(adamLayout(shapesOf(params))),
  layout: adamLayout,
  update: (grads, state, params, context) => {
    if (rate > 0) {
      const keep = 1 - context.learningRate * rate
      tf.tidy(() => {
        for (const name of Object.keys(grads)) {
          const p = params[name]
          if (p === undefined) throw new Error(`AdamW: no parameter named ${name}`)
          p.assign(tf.mul(p, keep))
        }
      })
    }
    return { applied: true, state: adamApply(settings, grads, state, params, context) }
  }
})

export const adamwKind = optimizerKind({
  ...adamwDeclaration,
  make: ({ decoupledWeightDecay }) => adamw(decoupledWeightDecay)
})
