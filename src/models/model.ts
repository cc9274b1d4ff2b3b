import * as tf from "@tensorflow/tfjs-core"
import { type Composition, compositionOf } from "./composition.js"
import { type Decoder, geometryOf, makeDecoder, type ReconstructionTerm } from "./decoders/decoder.js"
import { decoderKindOf } from "./decoders/registry.js"
import {
  disposeLista,
  encode,
  type Lista,
  listaLossGradients,
  listaTrace,
  listaVariables,
  makeLista
} from "./encoder.js"
import { type Energy, energyTermsGiven } from "./energy.js"
import type { InferenceResult } from "./inference/method.js"
import { type Linalg, tfjsLinalg } from "./linalg.js"
import {
  type PixelSpace,
  pixelSpaceOf,
  psnrSum,
  psnrSumOfSquaredErrors,
  type ToPixels,
  zeroAndNonFiniteCounts,
  zeroCount
} from "./metrics.js"
import type { UniformSource } from "./rng.js"
import { type ModelSettings, stepRule } from "./settings.js"
import { disposeOptimizer, makeOptimizer, type Optimizer, optimizerStep, optimizerTensors } from "./optimisers/chain.js"

/** Encoder, decoder and both optimizers: everything a training run updates. */
export interface SparseCodingModel {
  readonly settings: ModelSettings
  readonly inputDim: number
  readonly encoder: Lista
  readonly decoder: Decoder
  readonly encoderOptimizer: Optimizer
  readonly decoderOptimizer: Optimizer
  /** The terms, inference method and update chains the settings name (or the caller chose). */
  readonly composition: Composition
}

/** What a model computes with and is made of, when not the defaults. */
export interface ModelOptions {
  /** The products and in-place updates: a native BLAS's when the Backend loaded one. */
  readonly linalg?: Linalg
  /** The terms, inference method and update chains; by default those the settings name. */
  readonly composition?: Composition
  /** The shape of the images a row holds, for decoders that need it (conv); by default square. */
  readonly image?: { readonly height: number; readonly width: number }
}

export const makeModel = (
  settings: ModelSettings,
  inputDim: number,
  rng: UniformSource,
  options: ModelOptions = {}
): SparseCodingModel => {
  const linalg = options.linalg ?? tfjsLinalg
  const composition = options.composition ?? compositionOf(settings)
  const encoder = makeLista(rng, inputDim, settings.codeDim, settings.listaSteps, linalg)
  const kind = decoderKindOf(settings)
  const decoder = makeDecoder(kind, settings, geometryOf(settings.codeDim, inputDim, options.image), rng, linalg)
  return {
    settings,
    inputDim,
    encoder,
    decoder,
    // Each transform's init runs here: the unit-norm projection holds from the first step.
    encoderOptimizer: makeOptimizer(composition.encoderUpdate, listaVariables(encoder), linalg),
    decoderOptimizer: makeOptimizer(
      composition.decoderUpdate,
      { ...decoder.params },
      kind.updatesInPlace === true ? linalg : { ...linalg, inPlace: null }
    ),
    composition
  }
}

export const disposeModel = (m: SparseCodingModel): void => {
  disposeOptimizer(m.encoderOptimizer)
  disposeOptimizer(m.decoderOptimizer)
  disposeLista(m.encoder)
  m.decoder.dispose()
}

/** Every tensor of the model by a stable name: what a checkpoint stores. */
const prefixed = (
  groups: ReadonlyArray<readonly [string, Readonly<Record<string, tf.Variable>>]>
): Record<string, tf.Variable> => {
  const out: Record<string, tf.Variable> = {}
  for (const [prefix, vars] of groups) for (const [k, v] of Object.entries(vars)) out[`${prefix}.${k}`] = v
  return out
}

/** The weights alone, by checkpoint name: what a step reads and its update writes. */
export const modelParameters = (m: SparseCodingModel): Record<string, tf.Variable> =>
  prefixed([
    ["encoder", listaVariables(m.encoder)],
    ["decoder", m.decoder.params]
  ])

export const modelTensors = (m: SparseCodingModel): Record<string, tf.Variable> => ({
  ...modelParameters(m),
  // Each transform's state under its name: encoder.adam.m.W.
  ...prefixed([
    ["encoder", optimizerTensors(m.encoderOptimizer)],
    ["decoder", optimizerTensors(m.decoderOptimizer)]
  ])
})

/** Sums over one batch, so that an epoch's figures are exact averages over its rows. */
export interface BatchTotals {
  readonly rows: number
  readonly energy: number
  readonly psnr: number
  readonly zeros: number
  readonly entries: number
  readonly hiddenZeros: number
  readonly hiddenEntries: number
  /** Row-steps of FISTA: the sum over rows of the steps each took part in. */
  readonly fistaSteps: number
  /** Wall time spent in FISTA, for profiles. */
  readonly fistaSeconds: number
  /** Wall time spent on the figures (energy, PSNR, zero counts) rather than on training. */
  readonly figureSeconds: number
  /** Code entries that are NaN or infinite: anything but 0 means the run has diverged. */
  readonly nonFiniteCodes: number
}

/** Inference on `energy` with the model's method, step and tolerance, warm-started from the encoder's codes zEnc. */
const inferOn = (
  m: SparseCodingModel,
  energy: Energy,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D
): InferenceResult =>
  m.composition.inference.infer(reconstruction, zEnc, zEnc, energy, {
    maxSteps: m.settings.maxSteps,
    tol: m.settings.tol,
    step: stepRule(m.settings),
    linalg: m.decoder.linalg
  })

/** Inference with the model's own energy and method, warm-started from the encoder's codes zEnc. */
export const runInference = (
  m: SparseCodingModel,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D
): InferenceResult => inferOn(m, m.composition.energy, reconstruction, zEnc)

/**
 * The energy of one row on its own: ‖x − D(z)‖²/d + λ‖z‖₁, the model's energy without its smooth
 * code terms. Those are training devices (the variance hinge and the covariance penalty are batch
 * statistics; the encoder distance pulls the codes towards the encoder's), and with them a row's
 * codes would depend on the rows inferred beside it.
 */
export const rowEnergy = (m: SparseCodingModel): Energy => ({ lambda: m.composition.energy.lambda, terms: [] })

/**
 * Inference on rowEnergy from the encoder's codes, with the model's method, step and tolerance:
 * every row converges and freezes by its own test and meets no statistic of the others, so its
 * codes are the same alone or in any batch.
 */
export const runRowInference = (
  m: SparseCodingModel,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D
): InferenceResult => inferOn(m, rowEnergy(m), reconstruction, zEnc)

/**
 * A batch's energy and PSNR sum from D(z): each row's squared error is computed once and serves
 * the energy's reconstruction term and, where the pixel map is one affine map, the PSNR too,
 * with everything read back in one go. Must run inside a tidy.
 */
const energyAndPsnr = (
  x: tf.Tensor2D,
  decoded: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  energy: Energy,
  pixels: PixelSpace
): { readonly energy: number; readonly psnr: number } => {
  const rowErrors = tf.sum(tf.squaredDifference(x, decoded), 1) as tf.Tensor1D
  const total = energyTermsGiven(x, decoded, z, zEnc, energy, rowErrors).total
  const { scale } = pixels
  if (scale === undefined)
    return { energy: total.dataSync()[0], psnr: psnrSum(pixels.toPixels(x), pixels.toPixels(decoded)) }
  const read = tf.concat([tf.reshape(total, [1]), tf.mul(rowErrors, scale * scale)]).dataSync()
  return { energy: read[0], psnr: psnrSumOfSquaredErrors(read.subarray(1), x.shape[1]) }
}

/**
 * One training step: encoder codes, inference with the decoder frozen, one update of the decoder
 * on the reconstruction from Z* (its chain: decay, schedule, optimizer, constraints), one of the
 * encoder towards Z*. The figures are those of Z* and of D(Z*) before the update, as the
 * authors' code reports them.
 */
export const trainStep = (
  m: SparseCodingModel,
  x: tf.Tensor2D,
  epoch: number,
  pixels: ToPixels | PixelSpace
): BatchTotals => {
  const s = m.settings
  const { energy } = m.composition
  const trace = tf.tidy(() => {
    const t = listaTrace(m.encoder, x)
    return { codes: t.codes, iterates: [...t.iterates] }
  })
  const zEnc = trace.codes
  const started = performance.now()
  const term = m.decoder.reconstructionTerm(x)
  const solved = runInference(m, term, zEnc)
  term.dispose()
  const fistaSeconds = (performance.now() - started) / 1000
  const zStar = solved.codes
  let figureSeconds = 0
  const figure = <A>(f: () => A): A => {
    const t0 = performance.now()
    const value = f()
    figureSeconds += (performance.now() - t0) / 1000
    return value
  }
  const { linalg } = m.encoder
  const { zeros, nonFinite: nonFiniteCodes } = figure(() => zeroAndNonFiniteCounts(zStar, linalg))
  // One forward pass of the decoder serves the update, the energy and the figures.
  const figures = tf.tidy(() => {
    const { reconstruction, hidden, grads } = m.decoder.lossGradients(zStar, x)
    // The figures are read before the update changes the weights the tensors depend on.
    const { energy: energyTotal, psnr } = figure(() =>
      energyAndPsnr(x, reconstruction, zStar, zEnc, energy, pixelSpaceOf(pixels))
    )
    const hiddenZeros = hidden !== null ? figure(() => zeroCount(hidden, linalg)) : 0
    const hiddenEntries = hidden !== null ? hidden.size : 0
    optimizerStep(m.decoderOptimizer, grads, { epoch, learningRate: s.decoderLr })
    return { energyTotal, hiddenZeros, hiddenEntries, psnr }
  })
  tf.tidy(() => {
    const { grads } = listaLossGradients(m.encoder, x, zStar, trace)
    optimizerStep(m.encoderOptimizer, { W: grads.W, c: grads.c, S: grads.S }, { epoch, learningRate: s.encoderLr })
  })
  for (const t of trace.iterates) t.dispose()
  zStar.dispose()
  return {
    rows: x.shape[0],
    energy: figures.energyTotal,
    psnr: figures.psnr,
    zeros,
    entries: solved.codes.size,
    hiddenZeros: figures.hiddenZeros,
    hiddenEntries: figures.hiddenEntries,
    fistaSteps: solved.meanSteps * x.shape[0],
    fistaSeconds,
    figureSeconds,
    nonFiniteCodes
  }
}

/**
 * The amortised figures of a batch: the encoder's codes E(x), their energy (whose
 * encoder-distance term is then 0), the PSNR of D(E(x)) and the sparsity of E(x).
 */
export const evaluateBatch = (m: SparseCodingModel, x: tf.Tensor2D, pixels: ToPixels | PixelSpace): BatchTotals =>
  tf.tidy(() => {
    const z = encode(m.encoder, x)
    const { hidden, output } = m.decoder.trace(z)
    const counts = zeroAndNonFiniteCounts(z, m.encoder.linalg)
    return {
      rows: x.shape[0],
      ...energyAndPsnr(x, output, z, z, m.composition.energy, pixelSpaceOf(pixels)),
      zeros: counts.zeros,
      entries: z.size,
      hiddenZeros: hidden !== null ? zeroCount(hidden, m.encoder.linalg) : 0,
      hiddenEntries: hidden !== null ? hidden.size : 0,
      fistaSteps: 0,
      fistaSeconds: 0,
      figureSeconds: 0,
      nonFiniteCodes: counts.nonFinite
    }
  })

export const emptyTotals: BatchTotals = {
  rows: 0,
  energy: 0,
  psnr: 0,
  zeros: 0,
  entries: 0,
  hiddenZeros: 0,
  hiddenEntries: 0,
  fistaSteps: 0,
  fistaSeconds: 0,
  figureSeconds: 0,
  nonFiniteCodes: 0
}

export const addTotals = (a: BatchTotals, b: BatchTotals): BatchTotals => ({
  rows: a.rows + b.rows,
  energy: a.energy + b.energy,
  psnr: a.psnr + b.psnr,
  zeros: a.zeros + b.zeros,
  entries: a.entries + b.entries,
  hiddenZeros: a.hiddenZeros + b.hiddenZeros,
  hiddenEntries: a.hiddenEntries + b.hiddenEntries,
  fistaSteps: a.fistaSteps + b.fistaSteps,
  fistaSeconds: a.fistaSeconds + b.fistaSeconds,
  figureSeconds: a.figureSeconds + b.figureSeconds,
  nonFiniteCodes: a.nonFiniteCodes + b.nonFiniteCodes
})

/** Averages: energy per row, PSNR per image, zero fractions, FISTA steps per row. */
export interface SplitMetrics {
  readonly energy: number
  readonly psnr: number
  readonly zeroFraction: number
  readonly hiddenZeroFraction: number | null
  readonly meanFistaSteps: number
}

export const averageTotals = (t: BatchTotals): SplitMetrics => ({
  energy: t.rows > 0 ? t.energy / t.rows : NaN,
  psnr: t.rows > 0 ? t.psnr / t.rows : NaN,
  zeroFraction: t.entries > 0 ? t.zeros / t.entries : NaN,
  hiddenZeroFraction: t.hiddenEntries > 0 ? t.hiddenZeros / t.hiddenEntries : null,
  meanFistaSteps: t.rows > 0 ? t.fistaSteps / t.rows : 0
})
