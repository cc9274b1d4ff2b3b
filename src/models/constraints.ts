import * as tf from "@tensorflow/tfjs-core"
import { readTidy } from "./read.js"

/**
 * Rescale each row of W (the paper's columns of A: one atom per code component or hidden unit)
 * to unit ℓ2 norm. A zero row is left as it is rather than divided by zero.
 */
export const scaleRowsToUnitNorm = (W: tf.Variable): void => {
  tf.tidy(() => {
    const norms = tf.norm(W, "euclidean", 1, true)
    W.assign(tf.div(W, tf.where(tf.greater(norms, 0), norms, tf.onesLike(norms))))
  })
}

/** ℓ2 norm of each row, for monitoring collapse (code norms shrinking while atoms grow). */
export const rowNorms = (W: tf.Tensor2D): Float32Array => readTidy(() => tf.norm(W, "euclidean", 1))
