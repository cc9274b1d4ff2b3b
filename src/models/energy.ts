import * as tf from "@tensorflow/tfjs-core"
import { decode, type Decoder, type ReconstructionTerm } from "./decoder.js"

/** The weights of the energy's terms (SPEC §2). */
export interface EnergyWeights {
  /** λ, sparsity. */
  readonly lambda: number
  /** β, variance hinge; 0 switches it off and makes inference row-independent. */
  readonly beta: number
  /** τ, the target standard deviation of each code component over the batch. */
  readonly tau: number
  /** γ, distance to the encoder's prediction. */
  readonly gamma: number
}

/** Unbiased standard deviation of each column over the rows of the batch. */
export const columnStd = (z: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const n = z.shape[0]
    const centred = tf.sub(z, tf.mean(z, 0))
    return tf.sqrt(tf.div(tf.sum(tf.square(centred), 0), Math.max(n - 1, 1))) as tf.Tensor1D
  })

/**
 * ∂/∂z of β Σⱼ max(0, τ − σⱼ)². Where a column has σⱼ = 0 the gradient is taken as 0, the
 * subgradient PyTorch's norm uses, so a dead component is not pushed in an arbitrary direction.
 */
const varianceGradient = (z: tf.Tensor2D, beta: number, tau: number): tf.Tensor2D =>
  tf.tidy(() => {
    const n = z.shape[0]
    const centred = tf.sub(z, tf.mean(z, 0))
    const std = tf.sqrt(tf.div(tf.sum(tf.square(centred), 0), Math.max(n - 1, 1)))
    const hinge = tf.relu(tf.sub(tau, std))
    const safeStd = tf.maximum(std, 1e-12)
    const scale = tf.where(tf.greater(std, 0), tf.div(tf.mul(hinge, -2 * beta / Math.max(n - 1, 1)), safeStd), 0)
    return tf.mul(centred, scale) as tf.Tensor2D
  })

/**
 * Gradient of the smooth part f of the energy (everything but λ‖z‖₁) at z, with the
 * reconstruction term supplied by the decoder and zEnc the encoder's constant prediction.
 */
export const smoothGradient = (
  reconstruction: ReconstructionTerm,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  w: EnergyWeights
): tf.Tensor2D =>
  tf.tidy(() => {
    const l = z.shape[1]
    let g = reconstruction.gradient(z)
    if (w.gamma > 0) g = tf.add(g, tf.mul(tf.sub(z, zEnc), (2 * w.gamma) / l))
    if (w.beta > 0) g = tf.add(g, varianceGradient(z, w.beta, w.tau))
    return g
  })

/** The energy's terms for a batch, each summed over rows as in SPEC §2. */
export interface EnergyTerms<T> {
  readonly reconstruction: T
  readonly sparsity: T
  readonly variance: T
  readonly encoder: T
  readonly total: T
}

/** F(z) term by term, as scalars. Must run inside a tidy. */
export const energyTerms = (
  dec: Decoder,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  w: EnergyWeights
): EnergyTerms<tf.Scalar> => energyTermsGiven(x, decode(dec, z), z, zEnc, w)

/** F(z) term by term when D(z) is already at hand, as scalars. Must run inside a tidy. */
export const energyTermsGiven = (
  x: tf.Tensor2D,
  decoded: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  w: EnergyWeights
): EnergyTerms<tf.Scalar> => {
  const [, l] = z.shape
  const d = x.shape[1]
  const reconstruction = tf.div(tf.sum(tf.square(tf.sub(x, decoded))), d) as tf.Scalar
  const sparsity = tf.mul(tf.sum(tf.abs(z)), w.lambda) as tf.Scalar
  const variance =
    w.beta > 0 ? (tf.mul(tf.sum(tf.square(tf.relu(tf.sub(w.tau, columnStd(z))))), w.beta) as tf.Scalar) : tf.scalar(0)
  const encoder =
    w.gamma > 0 ? (tf.mul(tf.sum(tf.square(tf.sub(z, zEnc))), w.gamma / l) as tf.Scalar) : tf.scalar(0)
  const total = tf.addN([reconstruction, sparsity, variance, encoder]) as tf.Scalar
  return { reconstruction, sparsity, variance, encoder, total }
}

/** F(z) as numbers. */
export const energy = (
  dec: Decoder,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  w: EnergyWeights
): EnergyTerms<number> =>
  tf.tidy(() => {
    const t = energyTerms(dec, x, z, zEnc, w)
    const read = (s: tf.Scalar) => s.dataSync()[0]
    return {
      reconstruction: read(t.reconstruction),
      sparsity: read(t.sparsity),
      variance: read(t.variance),
      encoder: read(t.encoder),
      total: read(t.total)
    }
  })
