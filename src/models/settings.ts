import type { EnergyWeights } from "./energy.js"
import type { StepRule } from "./fista.js"

/** Everything that defines a model and how it is trained, independent of the data set. */
export interface ModelSettings {
  /** l, the code dimension. */
  readonly codeDim: number
  /** Hidden widths of the decoder: [] is the linear dictionary, [1024] the paper's -NL decoder. */
  readonly hidden: ReadonlyArray<number>
  /** T, LISTA's number of recurrent steps. */
  readonly listaSteps: number
  readonly energy: EnergyWeights
  readonly fista: {
    readonly maxSteps: number
    readonly tol: number
    readonly step: StepRule
  }
  readonly batchSize: number
  readonly epochs: number
  readonly decoderLr: number
  /** Halve the decoder's learning rate every this many epochs (0: never). */
  readonly decoderLrHalvingEvery: number
  readonly encoderLr: number
  /** Rescale the decoder's atoms (rows of every weight) to unit norm after init and every step. */
  readonly unitNormAtoms: boolean
  /** Coupled weight decay on the decoder's hidden biases. */
  readonly hiddenBiasDecay: number
  /** Coupled weight decay on the decoder's weights (the WDL baselines). */
  readonly decoderWeightDecay: number
  /** Coupled weight decay on the encoder's bias c. */
  readonly encoderBiasDecay: number
}

/** The decoder's learning rate at a given epoch (0-based) under the halving schedule. */
export const decoderLrAt = (s: ModelSettings, epoch: number): number =>
  s.decoderLrHalvingEvery > 0 ? s.decoderLr * Math.pow(0.5, Math.floor(epoch / s.decoderLrHalvingEvery)) : s.decoderLr
