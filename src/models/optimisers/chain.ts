import * as tf from "@tensorflow/tfjs-core"
import type { Linalg } from "../linalg.js"
import {
  type Gradients,
  noLayout,
  type Parameters,
  type Shapes,
  type StateLayout,
  type Transform,
  type TransformState
} from "./transform.js"

/**
 * Parameters with the chain of transforms that updates them and the state of each, stored under
 * the transform's name (optax's named_chain): Adam's first moment of W is `adam.m.W`.
 */
export interface Optimizer {
  readonly chain: ReadonlyArray<Transform>
  readonly params: Parameters
  /** Its in-place updates, when the backend has them. */
  readonly linalg: Linalg
  /** Each transform's state by its name; an update replaces the entries. */
  readonly state: Record<string, TransformState>
}

const checkNames = (chain: ReadonlyArray<Transform>): void => {
  const seen = new Set<string>()
  for (const t of chain) {
    if (t.name.includes("."))
      throw new Error(
        `an update transform's name cannot hold a dot, which separates the parts of its state's names: "${t.name}"`
      )
    if (seen.has(t.name))
      throw new Error(
        `an update chain names its transforms' state by their names, and "${t.name}" is there twice (${chain.map((c) => c.name).join(", ")}): give one another name`
      )
    seen.add(t.name)
  }
}

/** The chain's state for these parameters (and its constraints brought to hold on them). */
export const makeOptimizer = (chain: ReadonlyArray<Transform>, params: Parameters, linalg: Linalg): Optimizer => {
  checkNames(chain)
  const state: Record<string, TransformState> = {}
  for (const t of chain) state[t.name] = t.init(params)
  return { chain, params, linalg, state }
}

export const disposeOptimizer = (o: Optimizer): void => {
  for (const s of Object.values(o.state)) for (const v of Object.values(s.tensors)) v.dispose()
}

/**
 * One update of the parameters: the gradients go through the chain in order, each transform
 * seeing what the one before handed on and the learning rate as the schedules before it left it.
 * Some transform must apply every update: what is still pending at the end is a gradient no
 * optimizer took, and adding it would climb the loss, so the chain refuses it.
 */
export const optimizerStep = (
  o: Optimizer,
  grads: Gradients,
  context: { readonly epoch: number; readonly learningRate: number }
): void => {
  tf.tidy(() => {
    let updates = grads
    let learningRate = context.learningRate
    for (const t of o.chain) {
      const result = t.update(updates, o.state[t.name], o.params, {
        epoch: context.epoch,
        learningRate,
        linalg: o.linalg
      })
      o.state[t.name] = result.state
      if ("applied" in result) updates = {}
      else {
        updates = result.updates
        if (result.learningRate !== undefined) learningRate = result.learningRate
      }
    }
    const left = Object.keys(updates)
    if (left.length > 0) {
      throw new Error(
        `the update chain [${o.chain.map((t) => t.name).join(", ")}] left the updates of ${left.join(", ")} unapplied: end it with an optimizer (adam, sgd, …) that takes them, or mask one to them`
      )
    }
  })
}

/** Every state tensor by `<transform>.<name>`, as checkpoints store them under their part's prefix. */
export const optimizerTensors = (o: Optimizer): Record<string, tf.Variable> => {
  const out: Record<string, tf.Variable> = {}
  for (const t of o.chain) for (const [k, v] of Object.entries(o.state[t.name].tensors)) out[`${t.name}.${k}`] = v
  return out
}

/** Every state number by `<transform>.<name>` (Adam's `adam.step`). */
export const optimizerScalars = (o: Optimizer): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const t of o.chain) for (const [k, v] of Object.entries(o.state[t.name].scalars)) out[`${t.name}.${k}`] = v
  return out
}

/** Set the state numbers from `scalars` (named as optimizerScalars names them); those absent keep their values. */
export const restoreScalars = (o: Optimizer, scalars: Readonly<Record<string, number>>): void => {
  for (const t of o.chain) {
    const s = o.state[t.name]
    const next = Object.fromEntries(Object.entries(s.scalars).map(([k, v]) => [k, scalars[`${t.name}.${k}`] ?? v]))
    o.state[t.name] = { tensors: s.tensors, scalars: next }
  }
}

/** The chain's state names and shapes, as optimizerTensors and optimizerScalars will name them, without allocating. */
export const chainLayout = (chain: ReadonlyArray<Transform>, shapes: Shapes): StateLayout => {
  const tensors: Record<string, ReadonlyArray<number>> = {}
  const scalars: string[] = []
  for (const t of chain) {
    const layout = t.layout?.(shapes) ?? noLayout
    for (const [k, shape] of Object.entries(layout.tensors)) tensors[`${t.name}.${k}`] = shape
    for (const k of layout.scalars) scalars.push(`${t.name}.${k}`)
  }
  return { tensors, scalars }
}
