import * as tf from "@tensorflow/tfjs-core"
import type { Decoder } from "./decoders/decoder.js"
import type { Linalg } from "./linalg.js"
import { readTidy } from "./read.js"

/**
 * The two quantities whose drift is the collapse that the regularisers prevent: without one, the
 * ℓ1 term is lowered for free by shrinking the codes while the decoder's atoms grow to make up
 * for it, so the reconstruction stays the same and the sparsity penalty loses its meaning.
 */

/** Σᵢ ‖zᵢ‖₁ over the rows of a batch of codes; a sum, so that a data set's mean is exact over batches. */
export const codeL1Sum = (z: tf.Tensor2D): number => tf.tidy(() => tf.sum(tf.abs(z)).dataSync()[0])

/**
 * ℓ2 norms of the atoms the code components multiply, as the decoder defines them: the paper's
 * columns of A for the linear dictionary, of A₁ for a dense stack (rows of its first weight),
 * D(eⱼ) − D(0) for a decoder on the generic path.
 */
export const codeAtomNorms = (d: Decoder): Float32Array => d.atomNorms()

export const mean = (values: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]
  return values.length > 0 ? sum / values.length : NaN
}

/** Per code component, the number of rows of the batch where it is active (z > 0). */
export const componentUse = (z: tf.Tensor2D, { columnSums }: Linalg): Float32Array =>
  readTidy(() => columnSums(tf.cast(tf.greater(z, 0), "float32") as tf.Tensor2D))

/**
 * The atoms' mean norm weighted by how often each is used: the size of an atom as it appears in
 * reconstructions. Atoms of components that never fire keep their initial norm and would hide
 * the growth of the few that carry the reconstruction after a collapse.
 */
export const usageWeightedMean = (norms: ArrayLike<number>, use: ArrayLike<number>): number => {
  let sum = 0
  let weight = 0
  for (let j = 0; j < norms.length; j++) {
    sum += use[j] * norms[j]
    weight += use[j]
  }
  return weight > 0 ? sum / weight : NaN
}
