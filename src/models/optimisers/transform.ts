import * as tf from "@tensorflow/tfjs-core"
import type { Linalg } from "../linalg.js"
import { variableOf } from "../linear-init.js"

export type Gradients = Readonly<Record<string, tf.Tensor>>
export type Parameters = Readonly<Record<string, tf.Variable>>
export type Shapes = Readonly<Record<string, ReadonlyArray<number>>>

/** Parameters a transform acts on, by name. */
export type Selector = (name: string) => boolean

/**
 * What a transform keeps between updates: named tensors and named numbers, so that a checkpoint
 * holds it and a resumed run continues exactly. The tensors are variables that the transform may
 * write in place; the numbers are replaced by each update's returned state.
 */
export interface TransformState {
  readonly tensors: Readonly<Record<string, tf.Variable>>
  readonly scalars: Readonly<Record<string, number>>
}

/** The names and shapes of a state, known without allocating it (a checkpoint is checked against them). */
export interface StateLayout {
  readonly tensors: Readonly<Record<string, ReadonlyArray<number>>>
  readonly scalars: ReadonlyArray<string>
}

export const noState: TransformState = { tensors: {}, scalars: {} }
export const noLayout: StateLayout = { tensors: {}, scalars: [] }

export interface UpdateContext {
  /** The epoch in progress, 0-based, for schedules. */
  readonly epoch: number
  /** The learning rate as the transforms before this one left it (schedules change it). */
  readonly learningRate: number
  /** The products and in-place updates of the model's backend. */
  readonly linalg: Linalg
}

/**
 * What one transform hands on: new updates for the next transform (and, from a schedule, a new
 * learning rate), or word that it has written the parameters itself. A transform that applies
 * leaves no updates: the ones after it see an empty record and act on the parameters alone.
 */
export type UpdateResult =
  | { readonly updates: Gradients; readonly state: TransformState; readonly learningRate?: number }
  | { readonly applied: true; readonly state: TransformState }

/**
 * One piece of a parameter update, in the spirit of optax's gradient transformations: `init`
 * makes its state from the parameters, `update` maps the incoming updates (the gradients, for the
 * first one) and its state to the next ones. An optimizer's step applies the update itself rather
 * than returning it, so that Adam can write its moments and the parameters in place with a native
 * BLAS; a chain must end with every update applied.
 */
export interface Transform {
  /** Unique within a chain: the prefix of its state in checkpoints (`encoder.adam.m.W`). */
  readonly name: string
  /** Its state for these parameters. May also bring the parameters into its constraint (a projection). */
  readonly init: (params: Parameters) => TransformState
  /** The state's names and shapes for parameters of these shapes; none when absent. */
  readonly layout?: (shapes: Shapes) => StateLayout
  /** Runs inside a tidy: tensors it returns are released by the chain once the update is done. */
  readonly update: (
    updates: Gradients,
    state: TransformState,
    params: Parameters,
    context: UpdateContext
  ) => UpdateResult
}

/** A state of zeros for a layout: what most optimizers start from. */
export const zeroState = (layout: StateLayout): TransformState => ({
  tensors: Object.fromEntries(
    Object.entries(layout.tensors).map(([name, shape]) => [name, variableOf(tf.zeros([...shape]))])
  ),
  scalars: Object.fromEntries(layout.scalars.map((name) => [name, 0]))
})

export const shapesOf = (params: Parameters): Record<string, number[]> =>
  Object.fromEntries(Object.entries(params).map(([name, p]) => [name, p.shape]))

/** p ← p + u for each update, optax's apply_updates: for a transform that computes its step as a difference. */
export const applyUpdates = (params: Parameters, updates: Gradients): void => {
  for (const [name, u] of Object.entries(updates)) {
    const p = params[name]
    if (p === undefined) throw new Error(`no parameter named ${name} to apply an update to`)
    p.assign(tf.add(p, u))
  }
}

const pick = <A>(record: Readonly<Record<string, A>>, select: Selector): Record<string, A> =>
  Object.fromEntries(Object.entries(record).filter(([name]) => select(name)))

/**
 * A transform restricted to the parameters `select` picks (optax's masked / multi_transform):
 * it sees, initialises and updates those alone, and the other updates pass it unchanged.
 */
export const masked = (select: Selector, transform: Transform, name: string = transform.name): Transform => {
  const { layout } = transform
  return {
    name,
    init: (params) => transform.init(pick(params, select)),
    ...(layout === undefined ? {} : { layout: (shapes: Shapes) => layout(pick(shapes, select)) }),
    update: (updates, state, params, context) => {
      const inner = transform.update(pick(updates, select), state, pick(params, select), context)
      const changed: Gradients = "applied" in inner ? {} : inner.updates
      // The record keeps the incoming order, so that what follows sees the parameters as before.
      const next: Record<string, tf.Tensor> = {}
      for (const [k, u] of Object.entries(updates)) {
        if (!select(k)) next[k] = u
        else if (k in changed) next[k] = changed[k]
      }
      return "applied" in inner
        ? { updates: next, state: inner.state }
        : {
            updates: next,
            state: inner.state,
            ...(inner.learningRate === undefined ? {} : { learningRate: inner.learningRate })
          }
    }
  }
}
