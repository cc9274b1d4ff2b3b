import * as tf from "@tensorflow/tfjs-core"
import { optimizerKind } from "./kind.js"
import { sgdDeclaration } from "./sgd.declaration.js"
import { type Shapes, type StateLayout, type Transform, shapesOf, zeroState } from "./transform.js"

export interface SgdSettings {
  /** μ: 0 is plain gradient descent. */
  readonly momentum: number
  /** Step along g + μ·b rather than b (Sutskever et al.'s form, as PyTorch's nesterov). */
  readonly nesterov: boolean
}

/** One momentum buffer per parameter, none without momentum. */
const sgdLayout =
  (momentum: number) =>
  (shapes: Shapes): StateLayout => ({
    tensors:
      momentum > 0
        ? Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [`momentum.${name}`, shape]))
        : {},
    scalars: []
  })

/**
 * Stochastic gradient descent with momentum as PyTorch's SGD (no dampening): b ← μ·b + g, then
 * p ← p − lr·b, or p ← p − lr·(g + μ·b) with Nesterov. The buffer starts at 0, which makes the
 * first step PyTorch's b = g.
 */
export const sgd = ({ momentum, nesterov }: SgdSettings): Transform => ({
  name: "sgd",
  init: (params) => zeroState(sgdLayout(momentum)(shapesOf(params))),
  layout: sgdLayout(momentum),
  update: (grads, state, params, { learningRate, linalg }) => {
    const native = linalg.inPlace
    tf.tidy(() => {
      for (const [name, g] of Object.entries(grads)) {
        const p = params[name]
        if (p === undefined) throw new Error(`SGD: no parameter named ${name}`)
        let direction: tf.Tensor = g
        if (momentum > 0) {
          const b = state.tensors[`momentum.${name}`]
          if (b === undefined) throw new Error(`SGD: no momentum buffer for ${name}`)
          if (native !== null && native.writable(b)) native.axpby(1, g, momentum, b)
          else b.assign(tf.add(tf.mul(b, momentum), g))
          direction = nesterov ? tf.add(g, tf.mul(b, momentum)) : b
        }
        if (native !== null && native.writable(p)) native.axpby(-learningRate, direction, 1, p)
        else p.assign(tf.sub(p, tf.mul(direction, learningRate)))
      }
    })
    return { applied: true, state }
  }
})

export const sgdKind = optimizerKind({
  ...sgdDeclaration,
  make: ({ momentum, nesterov }) => sgd({ momentum, nesterov })
})
