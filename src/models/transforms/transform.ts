import type * as tf from "@tensorflow/tfjs-core"
import type { Adam } from "./adam.js"

export interface UpdateContext {
  /** The epoch in progress, 0-based, for schedules. */
  readonly epoch: number
}

export type Gradients = Readonly<Record<string, tf.Tensor>>
export type Parameters = Readonly<Record<string, tf.Variable>>

/**
 * One small piece of a parameter update, in the spirit of optax's transformations. An update
 * runs a chain of them in phases, each phase in the chain's order: every `gradients` (coupled
 * decay, clipping), every `learningRate` (schedules), the one `apply` (the optimizer's step), then
 * every `project` (constraints on the parameters). Adam applies the step rather than returning an
 * update for a later phase to add, because it writes the parameter in place with a native BLAS.
 */
export interface UpdateTransform {
  readonly name: string
  /** What the next transform sees as gradients. Runs inside a tidy. */
  readonly gradients?: (grads: Gradients, params: Parameters) => Gradients
  readonly learningRate?: (lr: number, context: UpdateContext) => number
  /** The optimizer's step, with its state. */
  readonly apply?: (grads: Gradients, lr: number, state: Adam) => void
  /** Acts on the parameters after the step. */
  readonly project?: (params: Parameters) => void
}

/** Parameters a transform acts on, by name. */
export type Selector = (name: string) => boolean
