import { energyOf, type Energy } from "./energy.js"
import type { InferenceMethod } from "./inference/method.js"
import { inferenceByName } from "./inference/registry.js"
import type { ModelSettings } from "./settings.js"
import { adam } from "./transforms/adam.js"
import { lrHalving } from "./transforms/lr-halving.js"
import type { UpdateTransform } from "./transforms/transform.js"
import { unitNorm } from "./transforms/unit-norm.js"
import { weightDecay } from "./transforms/weight-decay.js"

/**
 * What a variant is made of: the energy's terms, the inference method, and the chains of
 * transforms that update the decoder and the encoder. Settings name a composition; code can build
 * one directly (a term of one's own, another chain) and hand it to makeModel.
 */
export interface Composition {
  readonly energy: Energy
  readonly inference: InferenceMethod
  readonly decoderUpdate: ReadonlyArray<UpdateTransform>
  readonly encoderUpdate: ReadonlyArray<UpdateTransform>
}

const isWeight = (name: string) => name.startsWith("W")
const isBias = (name: string) => name.startsWith("b")

export const compositionOf = (s: ModelSettings): Composition => ({
  energy: energyOf(s),
  inference: inferenceByName(s.inference),
  decoderUpdate: [
    weightDecay(s.decoderWeightDecay, isWeight, "decoder weight decay"),
    weightDecay(s.hiddenBiasDecay, isBias, "hidden bias decay"),
    lrHalving(s.decoderLrHalvingEvery),
    adam(),
    ...(s.unitNormAtoms ? [unitNorm(isWeight)] : [])
  ],
  encoderUpdate: [weightDecay(s.encoderBiasDecay, (name) => name === "c", "encoder bias decay"), adam()]
})
