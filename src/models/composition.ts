import type { ParameterRole } from "./decoders/decoder.js"
import { decoderKindOf } from "./decoders/registry.js"
import { energyOf, type Energy } from "./energy.js"
import type { InferenceMethod } from "./inference/method.js"
import { inferenceByName } from "./inference/registry.js"
import type { ModelSettings } from "./settings.js"
import { lrHalving } from "./optimisers/lr-halving.js"
import { optimizerOf } from "./optimisers/registry.js"
import type { Transform } from "./optimisers/transform.js"
import { unitNorm } from "./optimisers/unit-norm.js"
import { weightDecay } from "./optimisers/weight-decay.js"

/**
 * What a variant is made of: the energy's terms, the inference method, and the chains of
 * transforms that update the decoder and the encoder. Settings name a composition; code can build
 * one directly (a term of one's own, another chain) and hand it to makeModel.
 */
export interface Composition {
  readonly energy: Energy
  readonly inference: InferenceMethod
  readonly decoderUpdate: ReadonlyArray<Transform>
  readonly encoderUpdate: ReadonlyArray<Transform>
}

/** The decoder's parameters of some roles, as its module names them, for the transforms that act on them. */
const decoderParameters = (s: ModelSettings, ...roles: ReadonlyArray<ParameterRole>) => {
  const byName = decoderKindOf(s).roles(s)
  return (name: string) => roles.includes(byName[name])
}

export const compositionOf = (s: ModelSettings): Composition => ({
  energy: energyOf(s),
  inference: inferenceByName(s.inference),
  decoderUpdate: [
    weightDecay(s.decoderWeightDecay, decoderParameters(s, "atoms", "weight"), "decoder weight decay"),
    weightDecay(s.hiddenBiasDecay, decoderParameters(s, "bias"), "hidden bias decay"),
    lrHalving(s.decoderLrHalvingEvery),
    optimizerOf(s),
    ...(s.unitNormAtoms ? [unitNorm(decoderParameters(s, "atoms"))] : [])
  ],
  encoderUpdate: [weightDecay(s.encoderBiasDecay, (name) => name === "c", "encoder bias decay"), optimizerOf(s)]
})

/**
 * The names that identify a composition: its terms, inference method and update chains. A
 * checkpoint records them, so that a model trained with a composition of its own is not loaded or
 * resumed as the one its settings alone would build.
 */
export interface CompositionNames {
  readonly terms: ReadonlyArray<string>
  readonly inference: string
  readonly decoderUpdate: ReadonlyArray<string>
  readonly encoderUpdate: ReadonlyArray<string>
}

export const compositionNames = (c: Composition): CompositionNames => ({
  terms: c.energy.terms.map((t) => t.name),
  inference: c.inference.name,
  decoderUpdate: c.decoderUpdate.map((t) => t.name),
  encoderUpdate: c.encoderUpdate.map((t) => t.name)
})

/** Where two compositions differ, as a phrase ("terms [variance, ridge] against [variance]"), or null. */
export const compositionDifference = (recorded: CompositionNames, built: CompositionNames): string | null => {
  const list = (names: ReadonlyArray<string>) => `[${names.join(", ")}]`
  const parts: string[] = []
  if (list(recorded.terms) !== list(built.terms))
    parts.push(`terms ${list(recorded.terms)} against ${list(built.terms)}`)
  if (recorded.inference !== built.inference) parts.push(`inference ${recorded.inference} against ${built.inference}`)
  if (list(recorded.decoderUpdate) !== list(built.decoderUpdate))
    parts.push(`decoder update ${list(recorded.decoderUpdate)} against ${list(built.decoderUpdate)}`)
  if (list(recorded.encoderUpdate) !== list(built.encoderUpdate))
    parts.push(`encoder update ${list(recorded.encoderUpdate)} against ${list(built.encoderUpdate)}`)
  return parts.length === 0 ? null : parts.join("; ")
}
