import * as tf from "@tensorflow/tfjs-core"
import type { Adam } from "./adam.js"
import type { Gradients, Parameters, UpdateContext, UpdateTransform } from "./transform.js"

/** One update of the parameters behind `state` with a chain of transforms (see UpdateTransform). */
export const applyChain = (chain: ReadonlyArray<UpdateTransform>, state: Adam, grads: Gradients, baseLr: number, context: UpdateContext): void => {
  const apply = chain.filter((t) => t.apply !== undefined)
  if (apply.length !== 1) throw new Error(`an update chain needs exactly one optimizer step; this one has ${apply.length} (${chain.map((t) => t.name).join(", ")})`)
  tf.tidy(() => {
    const g = chain.reduce((acc, t) => (t.gradients === undefined ? acc : t.gradients(acc, state.params)), grads)
    const lr = chain.reduce((acc, t) => (t.learningRate === undefined ? acc : t.learningRate(acc, context)), baseLr)
    apply[0].apply?.(g, lr, state)
  })
  project(chain, state.params)
}

/** The chain's constraints alone: what a freshly initialised model gets. */
export const project = (chain: ReadonlyArray<UpdateTransform>, params: Parameters): void => {
  for (const t of chain) t.project?.(params)
}
