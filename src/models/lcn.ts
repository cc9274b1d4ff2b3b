import * as tf from "@tensorflow/tfjs-core"

/**
 * Local contrast normalisation of natural-image crops (docs/method.md, Data), on typed arrays, and its inverse
 * on tensors. Nothing here reads files: callers hand in pixels in [0, 1].
 *
 * Geometry: a 52×52 crop, a 13×13 Gaussian applied without padding twice, so the local mean is
 * 40×40, the local scale and the patch 28×28; the patch sits at rows/columns 12..39 of the crop.
 */

/** The global normalisation applied to pixels in [0, 1] before the local one. */
export const PIXEL_MEAN = 0.457
export const PIXEL_STD = 0.259

export const CROP_SIZE = 52
export const KERNEL_SIZE = 13
export const KERNEL_SIGMA = 5
/** s below this is replaced by it, after the raise to the reference level: a flat crop must not divide by 0. */
export const SCALE_FLOOR = 1e-4
/** Patches whose (unbiased) standard deviation is below this are dropped as nearly flat. */
export const STD_THRESHOLD = 0.5

const TRIM = (KERNEL_SIZE - 1) / 2
export const MEAN_SIZE = CROP_SIZE - KERNEL_SIZE + 1
export const PATCH_SIZE = MEAN_SIZE - KERNEL_SIZE + 1
export const PATCH_DIM = PATCH_SIZE * PATCH_SIZE
/** Where the patch's first row and column lie in the crop. */
export const PATCH_OFFSET = 2 * TRIM
/** The least crop that leaves a patch of 2×2 (a patch's std needs two values): the two valid passes of the kernel take 2·(KERNEL_SIZE − 1) pixels off each side. */
export const MIN_CROP_SIZE = 2 * (KERNEL_SIZE - 1) + 2

/** The side of the patch a crop of side `crop` gives (28 for the paper's 52). */
export const lcnPatchSize = (crop: number): number => crop - 2 * (KERNEL_SIZE - 1)

/**
 * The 1-D Gaussian whose outer product with itself is the 13×13 kernel. Normalising the 1-D
 * factor to sum 1 makes the 2-D kernel sum to 1 too, and lets each convolution run as two 1-D
 * passes (13 instead of 169 products per output).
 */
export const gaussian1d = (size = KERNEL_SIZE, sigma = KERNEL_SIGMA): Float64Array => {
  const g = new Float64Array(size)
  const centre = (size - 1) / 2
  let sum = 0
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma))
    sum += g[i]
  }
  for (let i = 0; i < size; i++) g[i] /= sum
  return g
}

/** A square region of a row-major grey image: the crop at (top, left) of size CROP_SIZE. */
export interface PixelWindow {
  readonly pixels: Float32Array
  /** Row stride of `pixels`. */
  readonly width: number
  readonly top: number
  readonly left: number
}

/** One normalised patch and what maps it back to pixels, each PATCH_SIZE² values row-major. */
export interface LcnPatch {
  readonly patch: Float32Array
  /** The local mean μ cropped to the patch's pixels (normalised units). */
  readonly mean: Float32Array
  /** The local scale s after the raise to the reference level and the floor. */
  readonly scale: Float32Array
  /** The crop's own mean of s before any raise: what a data-wide reference level averages. */
  readonly scaleMean: number
  /** Unbiased standard deviation of the patch, for the threshold filter. */
  readonly std: number
}

/**
 * Valid 2-D correlation of an n×n image with g⊗g, into (n−12)², via a horizontal then a vertical
 * pass. The 13 taps are unrolled and paired by symmetry (g[t] = g[12−t]): this is the build's
 * inner loop, and the plain loop over taps ran three times slower in V8.
 */
const separableValid13 = (
  input: Float64Array,
  n: number,
  g: Float64Array,
  rowPass: Float64Array,
  out: Float64Array
): void => {
  const m = n - 12
  const [g0, g1, g2, g3, g4, g5, g6] = g
  for (let r = 0; r < n; r++) {
    for (let c = 0, i = r * n, o = r * m; c < m; c++, i++, o++) {
      rowPass[o] =
        g0 * (input[i] + input[i + 12]) +
        g1 * (input[i + 1] + input[i + 11]) +
        g2 * (input[i + 2] + input[i + 10]) +
        g3 * (input[i + 3] + input[i + 9]) +
        g4 * (input[i + 4] + input[i + 8]) +
        g5 * (input[i + 5] + input[i + 7]) +
        g6 * input[i + 6]
    }
  }
  for (let i = 0; i < m * m; i++) {
    const p = rowPass
    out[i] =
      g0 * (p[i] + p[i + 12 * m]) +
      g1 * (p[i + m] + p[i + 11 * m]) +
      g2 * (p[i + 2 * m] + p[i + 10 * m]) +
      g3 * (p[i + 3 * m] + p[i + 9 * m]) +
      g4 * (p[i + 4 * m] + p[i + 8 * m]) +
      g5 * (p[i + 5 * m] + p[i + 7 * m]) +
      g6 * p[i + 6 * m]
  }
}

/**
 * A reusable LCN: the returned function normalises one crop per call. Intermediates are in
 * float64 in buffers allocated once, because a data set build calls it hundreds of thousands of
 * times; only the returned patch, mean and scale are new arrays.
 *
 * Values of s below a reference level are raised to it. With `scaleReference` null the level is
 * the crop's own mean of s, so every crop comes out at about unit contrast, a flat or blurred one
 * included. A data-wide level (the mean of s over many crops; the authors' code takes it over each
 * batch of 250 crops) leaves low-contrast crops small, and the std filter then drops them.
 *
 * `crop` is the side of the crops it takes (the paper's 52 by default); its patches have side
 * lcnPatchSize(crop).
 */
export const makeLcn = (
  scaleReference: number | null = null,
  crop: number = CROP_SIZE
): ((window: PixelWindow) => LcnPatch) => {
  if (!(Number.isInteger(crop) && crop >= MIN_CROP_SIZE))
    throw new RangeError(
      `LCN: a crop of side ${crop} is not allowed; give a whole side of ${MIN_CROP_SIZE} or more (it leaves a patch of at least 2×2)`
    )
  const meanSide = crop - KERNEL_SIZE + 1
  const patchSide = lcnPatchSize(crop)
  const patchDim = patchSide * patchSide
  const g = gaussian1d()
  const x = new Float64Array(crop * crop)
  const rowPass = new Float64Array(crop * meanSide)
  const mu = new Float64Array(meanSide * meanSide)
  const centred = new Float64Array(meanSide * meanSide)
  const squared = new Float64Array(meanSide * meanSide)
  const s = new Float64Array(patchDim)
  return ({ pixels, width, top, left }) => {
    for (let r = 0; r < crop; r++) {
      const src = (top + r) * width + left
      for (let c = 0; c < crop; c++) x[r * crop + c] = (pixels[src + c] - PIXEL_MEAN) / PIXEL_STD
    }
    separableValid13(x, crop, g, rowPass, mu)
    for (let r = 0; r < meanSide; r++) {
      for (let c = 0; c < meanSide; c++) {
        const v = x[(r + TRIM) * crop + c + TRIM] - mu[r * meanSide + c]
        centred[r * meanSide + c] = v
        squared[r * meanSide + c] = v * v
      }
    }
    separableValid13(squared, meanSide, g, rowPass, s)
    let sMean = 0
    for (let i = 0; i < patchDim; i++) {
      // Rounding can leave a tiny negative sum of squares on a flat crop.
      s[i] = Math.sqrt(Math.max(s[i], 0))
      sMean += s[i]
    }
    sMean /= patchDim
    const level = scaleReference ?? sMean
    const patch = new Float32Array(patchDim)
    const mean = new Float32Array(patchDim)
    const scale = new Float32Array(patchDim)
    let sum = 0
    let sumSq = 0
    for (let r = 0; r < patchSide; r++) {
      for (let c = 0; c < patchSide; c++) {
        const i = r * patchSide + c
        const si = Math.max(Math.max(s[i], level), SCALE_FLOOR)
        const inner = (r + TRIM) * meanSide + c + TRIM
        const p = centred[inner] / si
        patch[i] = p
        mean[i] = mu[inner]
        scale[i] = si
        sum += p
        sumSq += p * p
      }
    }
    const variance = (sumSq - (sum * sum) / patchDim) / (patchDim - 1)
    return { patch, mean, scale, scaleMean: sMean, std: Math.sqrt(Math.max(variance, 0)) }
  }
}

/** LCN of one CROP_SIZE² crop (row-major, pixels in [0, 1]); scaleReference as in makeLcn. */
export const localContrastNormalize = (crop: Float32Array, scaleReference: number | null = null): LcnPatch => {
  if (crop.length !== CROP_SIZE * CROP_SIZE) {
    throw new RangeError(
      `LCN: a crop has ${CROP_SIZE}×${CROP_SIZE} = ${CROP_SIZE * CROP_SIZE} values, got ${crop.length}`
    )
  }
  return makeLcn(scaleReference)({ pixels: crop, width: CROP_SIZE, top: 0, left: 0 })
}

export const keepPatch = (p: LcnPatch, threshold = STD_THRESHOLD): boolean => p.std >= threshold

/** The inverse on the host: pixels = (patch·s + μ)·0.259 + 0.457, for any number of rows. */
export const lcnToPixelsHost = (patch: Float32Array, mean: Float32Array, scale: Float32Array): Float32Array => {
  const out = new Float32Array(patch.length)
  for (let i = 0; i < patch.length; i++) out[i] = (patch[i] * scale[i] + mean[i]) * PIXEL_STD + PIXEL_MEAN
  return out
}

/** The same inverse on a batch of rows (a patch or a reconstruction of one) with their μ and s. */
export const lcnToPixels = (x: tf.Tensor2D, mean: tf.Tensor2D, scale: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.add(tf.mul(tf.add(tf.mul(x, scale), mean), PIXEL_STD), PIXEL_MEAN))
