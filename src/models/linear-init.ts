import * as tf from "@tensorflow/tfjs-core"
import { type UniformSource, uniformArray } from "./rng.js"

/** A variable that owns its value: the temporary it was made from is released at once. */
export const variableOf = (value: tf.Tensor): tf.Variable => {
  const v = tf.variable(value)
  value.dispose()
  return v
}

/**
 * PyTorch's default nn.Linear initialisation, U(−1/√fan_in, 1/√fan_in), so that unconstrained
 * decoders (VDL) start at the same scale as the authors' code and the torch reference.
 * Weights are stored input-major (fan_in × fan_out) so that a batch of rows maps by a plain
 * product X·W: the transpose flags of matMul are ten times slower on the wasm backend.
 */
export const linearWeightValue = (rng: UniformSource, fanIn: number, fanOut: number): tf.Tensor2D => {
  const bound = 1 / Math.sqrt(fanIn)
  return tf.tensor2d(uniformArray(rng, fanIn * fanOut, -bound, bound), [fanIn, fanOut])
}

/** linearWeightValue as a variable. */
export const linearWeight = (rng: UniformSource, fanIn: number, fanOut: number): tf.Variable =>
  variableOf(linearWeightValue(rng, fanIn, fanOut))

export const zeroBias = (size: number): tf.Variable => variableOf(tf.zeros([size]))
