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
export const psnrSum = (pixels: tf.Tensor2D, reconstruction: tf.Tensor2D): number =>
  psnrSumOfSquaredErrors(
    tf.tidy(() => tf.sum(tf.squaredDifference(pixels, reconstruction), 1)).dataSync(),
    pixels.shape[1]
  )

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

/**
 * The pixel space of a batch: its map back to pixels, and, where that map is one affine map for
 * every entry (pixels = scale·x + offset), its scale, so that a difference of rows in pixels is
 * scale times theirs and PSNR can be read off a residual already computed.
 */
export interface PixelSpace {
  readonly toPixels: ToPixels
  readonly scale?: number
}

export const pixelSpaceOf = (pixels: ToPixels | PixelSpace): PixelSpace =>
  typeof pixels === "function" ? { toPixels: pixels } : pixels

/** Σ over rows of PSNR from each row's sum of squared differences in pixels, over `dim` pixels. */
export const psnrSumOfSquaredErrors = (rowSums: ArrayLike<number>, dim: number): number => {
  let sum = 0
  for (let i = 0; i < rowSums.length; i++) {
    const mse = rowSums[i] / dim
    sum += 10 * Math.log10(1 / (mse === 0 ? 1e-4 : mse))
  }
  return sum
}

export const affineToPixels =
  (mean: number, std: number): ToPixels =>
  (x) =>
    tf.tidy(() => tf.add(tf.mul(x, std), mean))
