import * as tf from "@tensorflow/tfjs-core"
import type { Linalg } from "../linalg.js"
import { variableOf } from "../linear-init.js"
import type { UpdateTransform } from "./transform.js"

/**
 * Adam (Kingma & Ba) with PyTorch's defaults, kept by hand so that its state is plain named
 * tensors a checkpoint can hold.
 */
export interface AdamSettings {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

export const adamDefaults: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }

export interface Adam {
  readonly settings: AdamSettings
  readonly params: Readonly<Record<string, tf.Variable>>
  readonly firstMoment: Readonly<Record<string, tf.Variable>>
  readonly secondMoment: Readonly<Record<string, tf.Variable>>
  /** Its in-place updates, when the backend has them. */
  readonly linalg: Linalg
  /** Number of updates applied so far (for bias correction). */
  step: number
}

export const makeAdam = (params: Record<string, tf.Variable>, linalg: Linalg, settings: AdamSettings = adamDefaults): Adam => {
  const firstMoment: Record<string, tf.Variable> = {}
  const secondMoment: Record<string, tf.Variable> = {}
  for (const [name, p] of Object.entries(params)) {
    firstMoment[name] = variableOf(tf.zerosLike(p))
    secondMoment[name] = variableOf(tf.zerosLike(p))
  }
  return { settings, params, firstMoment, secondMoment, linalg, step: 0 }
}

export const disposeAdam = (a: Adam): void => {
  for (const v of Object.values(a.firstMoment)) v.dispose()
  for (const v of Object.values(a.secondMoment)) v.dispose()
}

/**
 * One Adam update of every parameter that has a gradient. The learning rate is per call, so that
 * schedules and decay stay outside the optimizer, as transforms of the update chain.
 */
export const adamStep = (a: Adam, grads: Readonly<Record<string, tf.Tensor>>, learningRate: number): void => {
  a.step += 1
  const { beta1, beta2, epsilon } = a.settings
  const c1 = 1 - Math.pow(beta1, a.step)
  const c2 = 1 - Math.pow(beta2, a.step)
  const native = a.linalg.inPlace
  tf.tidy(() => {
    for (const [name, g] of Object.entries(grads)) {
      const p = a.params[name]
      if (p === undefined) throw new Error(`Adam: no parameter named ${name}`)
      const m = a.firstMoment[name]
      const v = a.secondMoment[name]
      if (native !== null && native.writable(p) && native.writable(m) && native.writable(v)) {
        // The same update with the moments and the parameter written in place: four tensor
        // operations instead of fourteen. (lr/c1)·m/(√(v/c2) + ε) = (lr·√c2/c1)·m/(√v + ε·√c2).
        native.axpby(1 - beta1, g, beta1, m)
        native.axpby(1 - beta2, tf.square(g), beta2, v)
        const rootC2 = Math.sqrt(c2)
        native.axpby((-learningRate * rootC2) / c1, tf.div(m, tf.add(tf.sqrt(v), epsilon * rootC2)), 1, p)
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
}

/** Adam as the step of an update chain. */
export const adam = (): UpdateTransform => ({ name: "adam", apply: (grads, lr, state) => adamStep(state, grads, lr) })
