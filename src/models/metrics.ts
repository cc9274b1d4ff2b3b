import * as tf from "@tensorflow/tfjs-core"
import type { EntryCounts, Linalg } from "./linalg.js"

/**
 * PSNR per image in pixel space: 10·log₁₀(1/MSE) with MSE over pixels, an MSE of 0
 * counted as 1e-4 (40 dB). Both inputs are already mapped back to pixels in [0, 1].
 */
export const psnrPerImage = (pixels: tf.Tensor2D, reconstruction: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const mse = tf.mean(tf.squaredDifference(pixels, reconstruction), 1)
    const safe = tf.where(tf.equal(mse, 0), tf.fill(mse.shape, 1e-4), mse)
    return tf.mul(tf.div(tf.log(tf.div(1, safe)), Math.LN10), 10) as tf.Tensor1D
  })

/**
 * Sum over the batch, so that callers can average over a whole split. The per-image MSEs are
 * read back and the logarithms taken on the host: a batch's few hundred numbers cost less there
 * than the half-dozen tensor operations psnrPerImage needs, which training runs every batch.
 */
export const psnrSum = (pixels: tf.Tensor2D, reconstruction: tf.Tensor2D): number => {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(pixels, reconstruction), 1)).dataSync()
  let sum = 0
  for (let i = 0; i < mse.length; i++) sum += 10 * Math.log10(1 / (mse[i] === 0 ? 1e-4 : mse[i]))
  return sum
}

/**
 * The exactly-zero and the non-finite (NaN, ±∞) entries of a tensor: in one pass where the
 * backend offers one (Linalg's entryCounts), else by two tensor reductions.
 */
export const zeroAndNonFiniteCounts = (t: tf.Tensor, linalg?: Pick<Linalg, "entryCounts">): EntryCounts => {
  const counts = linalg?.entryCounts
  if (counts != null) return counts(t)
  const [zeros, nonFinite] = tf.tidy(() =>
    tf
      .stack([tf.sum(tf.cast(tf.equal(t, 0), "float32")), tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), "float32"))])
      .dataSync()
  )
  return { zeros, nonFinite }
}

/** Number of exactly-zero entries (the sparsity measure: higher is sparser). */
export const zeroCount = (t: tf.Tensor, linalg?: Pick<Linalg, "entryCounts">): number =>
  zeroAndNonFiniteCounts(t, linalg).zeros

/** A map from the model's input space back to pixels, e.g. undoing the MNIST normalisation. */
export type ToPixels = (x: tf.Tensor2D) => tf.Tensor2D

export const affineToPixels =
  (mean: number, std: number): ToPixels =>
  (x) =>
    tf.tidy(() => tf.add(tf.mul(x, std), mean))
