import * as tf from "@tensorflow/tfjs-core"
import type { Decoder, ReconstructionTerm } from "./decoders/decoder.js"
import type { ModelSettings } from "./settings.js"
import { codeTermsOf } from "./terms/registry.js"
import { sparsity } from "./terms/sparsity.js"
import type { CodeTerm } from "./terms/term.js"

/**
 * The energy F(z) = ‖x − D(z)‖²/d + λ‖z‖₁ + Σ terms(z), summed over the rows of a batch. The
 * reconstruction term comes from the decoder, the ℓ1 term enters through its prox, and the other
 * smooth terms are values a caller can add to (a term of one's own needs no registration to be
 * used from code).
 */
export interface Energy {
  readonly lambda: number
  readonly terms: ReadonlyArray<CodeTerm>
}

export const energyOf = (s: ModelSettings): Energy => ({ lambda: s.lambda, terms: codeTermsOf(s) })

/**
 * Gradient of the smooth part f of the energy (everything but λ‖z‖₁) at z, with the
 * reconstruction term supplied by the decoder and zEnc the encoder's constant prediction.
 */
export const smoothGradient = (
  reconstruction: ReconstructionTerm,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  e: Energy
): tf.Tensor2D =>
  tf.tidy(
    () => e.terms.reduce((g, term) => tf.add(g, term.gradient(z, zEnc)), reconstruction.gradient(z)) as tf.Tensor2D
  )

/** The energy's terms for a batch by name (reconstruction, sparsity, then each smooth term), and their total. */
export interface EnergyTerms<T> {
  readonly byTerm: Readonly<Record<string, T>>
  readonly total: T
}

/**
 * F(z) term by term when D(z) is already at hand, as scalars; `rowErrors`, each row's
 * ‖x − D(z)‖² when a caller has them, saves computing them again. Must run inside a tidy.
 */
export const energyTermsGiven = (
  x: tf.Tensor2D,
  decoded: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  e: Energy,
  rowErrors?: tf.Tensor1D
): EnergyTerms<tf.Scalar> => {
  const byTerm: Record<string, tf.Scalar> = {
    reconstruction: tf.div(
      rowErrors === undefined ? tf.sum(tf.squaredDifference(x, decoded)) : tf.sum(rowErrors),
      x.shape[1]
    ) as tf.Scalar,
    [sparsity.name]: sparsity.value(z, e.lambda)
  }
  for (const term of e.terms) byTerm[term.name] = term.value(z, zEnc)
  return { byTerm, total: tf.addN(Object.values(byTerm)) as tf.Scalar }
}

/** F(z) term by term, as numbers. */
export const energy = (
  dec: Pick<Decoder, "trace">,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  e: Energy
): EnergyTerms<number> =>
  tf.tidy(() => {
    const t = energyTermsGiven(x, dec.trace(z).output, z, zEnc, e)
    const read = (s: tf.Scalar) => s.dataSync()[0]
    return { byTerm: Object.fromEntries(Object.entries(t.byTerm).map(([k, v]) => [k, read(v)])), total: read(t.total) }
  })
