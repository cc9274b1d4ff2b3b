import * as tf from "@tensorflow/tfjs-core"

/**
 * PSNR per image in pixel space: 10·log₁₀(1/MSE) with MSE over pixels, an MSE of 0
 * counted as 1e-4 (40 dB). Both inputs are already mapped back to pixels in [0, 1].
 */
export const psnrPerImage = (pixels: tf.Tensor2D, reconstruction: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const mse = tf.mean(tf.square(tf.sub(pixels, reconstruction)), 1)
    const safe = tf.where(tf.equal(mse, 0), tf.fill(mse.shape, 1e-4), mse)
    return tf.mul(tf.div(tf.log(tf.div(1, safe)), Math.LN10), 10) as tf.Tensor1D
  })

/** Sum over the batch, so that callers can average over a whole split. */
export const psnrSum = (pixels: tf.Tensor2D, reconstruction: tf.Tensor2D): number =>
  tf.tidy(() => tf.sum(psnrPerImage(pixels, reconstruction)).dataSync()[0])

/** Number of exactly-zero entries (the sparsity measure: higher is sparser). */
export const zeroCount = (t: tf.Tensor): number =>
  tf.tidy(() => tf.sum(tf.cast(tf.equal(t, 0), "float32")).dataSync()[0])

/** A map from the model's input space back to pixels, e.g. undoing the MNIST normalisation. */
export type ToPixels = (x: tf.Tensor2D) => tf.Tensor2D

export const affineToPixels =
  (mean: number, std: number): ToPixels =>
  (x) =>
    tf.tidy(() => tf.add(tf.mul(x, std), mean))
