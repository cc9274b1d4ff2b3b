import * as tf from "@tensorflow/tfjs-core"

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

/** The exactly-zero and the non-finite (NaN, ±∞) entries of a tensor, counted in one pass on the host. */
export const zeroAndNonFiniteCounts = (t: tf.Tensor): { readonly zeros: number; readonly nonFinite: number } => {
  const values = t.dataSync()
  let zeros = 0
  let nonFinite = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v === 0) zeros++
    else if (!Number.isFinite(v)) nonFinite++
  }
  return { zeros, nonFinite }
}

/** Number of exactly-zero entries (the sparsity measure: higher is sparser). */
export const zeroCount = (t: tf.Tensor): number => zeroAndNonFiniteCounts(t).zeros

/** A map from the model's input space back to pixels, e.g. undoing the MNIST normalisation. */
export type ToPixels = (x: tf.Tensor2D) => tf.Tensor2D

export const affineToPixels =
  (mean: number, std: number): ToPixels =>
  (x) =>
    tf.tidy(() => tf.add(tf.mul(x, std), mean))
