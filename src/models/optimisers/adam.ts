import * as tf from "@tensorflow/tfjs-core"
import { adamDeclaration } from "./adam.declaration.js"
import { optimizerKind } from "./kind.js"
import {
  type Gradients,
  type Parameters,
  type Shapes,
  type StateLayout,
  type Transform,
  type TransformState,
  type UpdateContext,
  zeroState,
  shapesOf
} from "./transform.js"

/** Adam (Kingma & Ba) with PyTorch's defaults. */
export interface AdamSettings {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

export const adamDefaults: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }

/** The first and second moments of each parameter, and the step count for bias correction. */
export const adamLayout = (shapes: Shapes): StateLayout => {
  const tensors: Record<string, ReadonlyArray<number>> = {}
  for (const [name, shape] of Object.entries(shapes)) tensors[`m.${name}`] = shape
  for (const [name, shape] of Object.entries(shapes)) tensors[`v.${name}`] = shape
  return { tensors, scalars: ["step"] }
}

/**
 * One Adam update of every parameter that has a gradient, written into the parameters and the
 * moments; the state returned counts the step. AdamW calls it after its own decay.
 */
export const adamApply = (
  settings: AdamSettings,
  grads: Gradients,
  state: TransformState,
  params: Parameters,
  context: UpdateContext
): TransformState => {
  const step = (state.scalars.step ?? 0) + 1
  const { beta1, beta2, epsilon } = settings
  const learningRate = context.learningRate
  const c1 = 1 - Math.pow(beta1, step)
  const c2 = 1 - Math.pow(beta2, step)
  const native = context.linalg.inPlace
  tf.tidy(() => {
    for (const [name, g] of Object.entries(grads)) {
      const p = params[name]
      const m = state.tensors[`m.${name}`]
      const v = state.tensors[`v.${name}`]
      if (p === undefined || m === undefined || v === undefined)
        throw new Error(`Adam: no parameter or moment named ${name}`)
      if (native !== null && native.writable(p) && native.writable(m) && native.writable(v)) {
        // The same update in one pass over the parameter and its moments, written in place:
        // (lr/c1)·m/(√(v/c2) + ε) = (lr·√c2/c1)·m/(√v + ε·√c2).
        const rootC2 = Math.sqrt(c2)
        native.adam({ g, m, v, p, beta1, beta2, scale: (-learningRate * rootC2) / c1, epsilon: epsilon * rootC2 })
        continue
      }
      const mNext = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1))
      const vNext = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2))
      m.assign(mNext)
      v.assign(vNext)
      const update = tf.div(tf.div(mNext, c1), tf.add(tf.sqrt(tf.div(vNext, c2)), epsilon))
      p.assign(tf.sub(p, tf.mul(update, learningRate)))
    }
  })
  return { tensors: state.tensors, scalars: { ...state.scalars, step } }
}

/** Adam as the step of an update chain: its state is `m.<param>`, `v.<param>` and `step`. */
export const adam = (settings: AdamSettings = adamDefaults): Transform => ({
  name: "adam",
  init: (params) => zeroState(adamLayout(shapesOf(params))),
  layout: adamLayout,
  update: (grads, state, params, context) => ({
    applied: true,
    state: adamApply(settings, grads, state, params, context)
  })
})

/** Adam as the settings name it: PyTorch's defaults, nothing to set. */
export const adamKind = optimizerKind({
  ...adamDeclaration,
  make: () => adam()
})
