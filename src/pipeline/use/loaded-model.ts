/**
 * A trained model put to use on new data: loaded from a run folder or a checkpoint, it takes rows
 * of pixels (0..1) or image files, normalises them as the model was trained, and gives codes,
 * reconstructions and denoised images back, the normalisation undone.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, type Scope } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import type { WriteError } from "../../data/write-error.js"
import { type ImageShape, readImageRows } from "../../data/image-rows.js"
import type { ImageReadError } from "../../data/images.js"
import type { Composition } from "../../models/composition.js"
import { encode } from "../../models/encoder.js"
import { psnrSum, zeroCount } from "../../models/metrics.js"
import {
  addTotals,
  averageTotals,
  emptyTotals,
  runRowInference,
  type SparseCodingModel,
  type SplitMetrics,
  trainStep
} from "../../models/model.js"
import type { ModelSettings } from "../../models/settings.js"
import type { Backend } from "../backend/backend.js"
import { encodeSnapshot, restoreSnapshot, snapshotModel } from "../train/checkpoint.js"
import { type CheckpointError, DivergenceError } from "../errors.js"
import { bestCheckpointFile } from "../train/layout.js"
import { nonFiniteProblem, pixelRangeProblem } from "../sources/checks.js"
import { flatRows, type Rows } from "./rows.js"
import { batchCodes, evenBatches } from "../evaluation/codes.js"
import { addNoise, standardNoise } from "../evaluation/denoise.js"
import {
  type InputSpace,
  type NormalizedRows,
  pixelsToInputSpace,
  pixelShapeOf,
  rowFreeToPixels
} from "../sources/normalization.js"
import { scopedModel } from "../backend/resources.js"
import { rngFor } from "../train/seeds.js"
import { decoderColumns } from "../report/pictures.js"
import { type LoadModelError, ModelInputError } from "./errors.js"
import { readModelCheckpoint } from "./read-model.js"

/** Which codes a reconstruction is made from: full inference (as training infers Z*), or the encoder's alone. */
export type CodeSource = "inferred" | "encoder"

export interface LoadOptions {
  /**
   * What the model's inputs are, for a checkpoint that does not record it (written before
   * format 2) and is not a 784-wide MNIST one; a recorded one is replaced by this.
   */
  readonly input?: InputSpace
  /**
   * What the model is made of, for one trained with a composition of its own (its checkpoint
   * records the pieces' names, and a model built from the settings alone is refused); by default
   * the settings' composition.
   */
  readonly composition?: Composition
}

export interface ReconstructOptions {
  /** Default "inferred". */
  readonly codes?: CodeSource
}

export interface DenoiseOptions extends ReconstructOptions {
  /** Standard deviation of the Gaussian noise, in the model's input space (as experiments/denoise.ts's --sigma). */
  readonly sigma: number
  /** Seed of the noise's draws; default 31. */
  readonly seed?: number
}

/** Pixels of the noisy inputs and of their reconstructions, with their mean PSNR against the clean images. */
export interface Denoised {
  readonly noisy: Float32Array
  readonly denoised: Float32Array
  readonly noisyPsnr: number
  readonly denoisedPsnr: number
}

/** What score reports on a set of rows, with the codes of transform. */
export interface Score {
  /** Mean PSNR per row in pixels (peak 1), of D(z) against the row. */
  readonly psnr: number
  /** The share of code entries that are exactly zero. */
  readonly zeroFraction: number
  /** Mean per row of the energy transform minimises, ‖x − D(z)‖²/d + λ‖z‖₁, in the model's input space. */
  readonly energy: number
}

/**
 * A model ready for new data. Every method takes rows of pixels in [0, 1], `pixelShape` values
 * each, row-major, as one Float32Array. Rows go through the model in batches of its training
 * batch size; with the variance term (β > 0) inference couples the rows of a batch, as in
 * training, so a row's inferred code depends a little on the rows beside it.
 */
export interface LoadedModel {
  /** The checkpoint read. */
  readonly file: string
  /** The variant it was trained as (vdl, sdl-nl, …). */
  readonly variant: string
  readonly settings: ModelSettings
  /** The model itself, for the library's evaluation functions; released with the scope. */
  readonly model: SparseCodingModel
  /** Its inputs' image shape and normalisation. */
  readonly input: InputSpace
  /** The pixels of one input row: the image shape, or for LCN patch models the crop the patch is cut from. */
  readonly pixelShape: ImageShape
  /** The pixels of one reconstruction row: the image shape (for LCN models, the patch at the crop's centre). */
  readonly outputShape: ImageShape
  readonly codeDim: number
  /** The encoder's codes, rows × codeDim. */
  readonly encode: (pixels: Float32Array) => Effect.Effect<Float32Array, ModelInputError>
  /** Codes by the model's inference method on its energy, warm-started from the encoder's, rows × codeDim. */
  readonly infer: (pixels: Float32Array) => Effect.Effect<Float32Array, ModelInputError>
  /** D(codes) in pixels, rows × outputShape. */
  readonly reconstruct: (
    pixels: Float32Array,
    options?: ReconstructOptions
  ) => Effect.Effect<Float32Array, ModelInputError>
  /** The inputs with Gaussian noise added in the model's input space, and their reconstructions. */
  readonly denoise: (pixels: Float32Array, options: DenoiseOptions) => Effect.Effect<Denoised, ModelInputError>
  /** Image files as input rows: grey, scaled to cover pixelShape and centre-cropped. */
  readonly readImages: (paths: ReadonlyArray<string>) => Effect.Effect<Float32Array, ImageReadError>
  /**
   * The codes of each row on its own, rows × codeDim: the model's inference method from the
   * encoder's codes on ‖x − D(z)‖²/d + λ‖z‖₁ over z ≥ 0 (no batch term), each row converging by
   * its own test, so that a row gets the same codes alone or among any others. Rows are pixels in
   * [0, 1]: a Float32Array of pixelShape values per row, an array of rows, or an Arrow table.
   */
  readonly transform: (rows: Rows) => Effect.Effect<Float32Array, ModelInputError>
  /** D(codes) in pixels, rows × outputShape; for a model whose inputs are normalised per row (LCN patches) use reconstruct. */
  readonly inverseTransform: (
    codes: Float32Array | ReadonlyArray<ReadonlyArray<number>>
  ) => Effect.Effect<Float32Array, ModelInputError>
  /** PSNR, zero fraction and energy of the rows with the codes transform gives them. */
  readonly score: (rows: Rows) => Effect.Effect<Score, ModelInputError>
  /**
   * One pass of training over these rows, in their order and in batches of nearly equal size no
   * larger than the training batch: for data that arrives in parts. Its figures are those of the
   * training steps (inferred codes, before each update).
   */
  readonly partialFit: (rows: Rows) => Effect.Effect<SplitMetrics, ModelInputError | DivergenceError>
  /** The decoder's output atoms, one array per code component (the rows of its last weight), as they are now. */
  readonly components: ReadonlyArray<Float32Array>
  /** Writes the model as dir/checkpoint.safetensors, which loadModel(dir) reads; resolves to the file written. */
  readonly save: (dir: string) => Effect.Effect<string, WriteError>
}

/**
 * Loads a model from a run folder (its checkpoint.safetensors, the best epoch) or a checkpoint
 * file, with the input space the checkpoint records (see resolveInputSpace for older ones, whose
 * assumed space is logged as a warning). The model is released when the scope closes.
 */
export const loadModel = (
  path: string,
  options: LoadOptions = {}
): Effect.Effect<LoadedModel, LoadModelError | CheckpointError, Scope.Scope | Backend> =>
  Effect.gen(function* () {
    const { file, snapshot, input } = yield* readModelCheckpoint(path, options.input)
    // The initialisation is overwritten at once; its seed does not matter.
    const model = yield* scopedModel(
      snapshot.settings,
      snapshot.inputDim,
      rngFor(0, "init"),
      options.composition,
      snapshot.input ?? input
    )
    yield* restoreSnapshot(model, snapshot, file)
    return useModel(model, snapshot.model, input, file, snapshot.epoch + 1)
  })

/**
 * A model already in memory (trained in this process, say) as a LoadedModel on the given input
 * space; `epochs` is how many it has been trained, which a saved checkpoint records.
 */
export const useModel = (
  model: SparseCodingModel,
  variant: string,
  space: InputSpace,
  file = "(in memory)",
  epochs = 0
): LoadedModel => {
  const pixelShape = pixelShapeOf(space)
  const pixelDim = pixelShape.height * pixelShape.width
  const dim = model.inputDim
  const l = model.settings.codeDim

  const normalized = (pixels: Float32Array, what: string): Effect.Effect<NormalizedRows, ModelInputError> =>
    Effect.suspend(() => {
      const fail = (problem: string) => Effect.fail(new ModelInputError({ what, problem }))
      if (!(pixels instanceof Float32Array))
        return fail("the input is not a Float32Array; pass rows of pixels as one Float32Array, row-major")
      if (pixels.length === 0 || pixels.length % pixelDim !== 0) {
        return fail(
          `${pixels.length} values are not whole rows of ${pixelShape.height}×${pixelShape.width} = ${pixelDim} pixels; pass rows × ${pixelDim} values`
        )
      }
      const bad = pixels.findIndex((v) => !Number.isFinite(v))
      if (bad >= 0)
        return fail(
          `row ${Math.floor(bad / pixelDim)} holds ${pixels[bad]} at pixel ${bad % pixelDim}; pass finite pixel values in [0, 1]`
        )
      return Effect.succeed(pixelsToInputSpace(space, pixels, pixels.length / pixelDim))
    })

  /** Each batch of rows (x in the model's input space) through `step`, whose outputs of `width` values per row are gathered. */
  const batched = (rows: NormalizedRows, width: number, step: (x: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D) =>
    Effect.forEach(evenBatches(rows.rows, model.settings.batchSize), ([start, end]) =>
      Effect.sync(() =>
        tf.tidy(() => {
          const indices = Int32Array.from({ length: end - start }, (_, i) => start + i)
          const x = tf.tensor2d(rows.x.subarray(start * dim, end * dim), [end - start, dim])
          return Float32Array.from(step(x, indices).dataSync() as Float32Array)
        })
      )
    ).pipe(
      Effect.map((parts) => {
        const out = new Float32Array(rows.rows * width)
        let at = 0
        for (const p of parts) {
          out.set(p, at)
          at += p.length
        }
        return out
      })
    )

  /** Inside a tidy. */
  const codesOf = (x: tf.Tensor2D, source: CodeSource): tf.Tensor2D =>
    source === "encoder" ? encode(model.encoder, x) : batchCodes(model, x).fista.codes

  /** Rows in any form, checked (finite pixels in [0, 1]) and normalised. */
  const pixelRows = (input: Rows, what: string): Effect.Effect<NormalizedRows, ModelInputError> =>
    flatRows(input, pixelDim, "the rows").pipe(
      Effect.flatMap((flat) => {
        const problem =
          nonFiniteProblem(flat.x, pixelDim, "the rows") ??
          pixelRangeProblem(flat.x, pixelDim, "the rows", "map them to pixels first")
        return problem === null ? Effect.succeed(flat) : Effect.fail(problem)
      }),
      Effect.mapError((p) => new ModelInputError({ what, problem: p.problem })),
      Effect.flatMap((flat) => normalized(flat.x, what))
    )

  /** Inside a tidy. */
  const rowCodes = (x: tf.Tensor2D): tf.Tensor2D => {
    const term = model.decoder.reconstructionTerm(x)
    try {
      return runRowInference(model, term, encode(model.encoder, x)).codes
    } finally {
      term.dispose()
    }
  }

  const reconstructRows = (rows: NormalizedRows, source: CodeSource) =>
    batched(rows, dim, (x, indices) => rows.toPixels(model.decoder.decode(codesOf(x, source)), indices))

  return {
    file,
    variant,
    settings: model.settings,
    model,
    input: space,
    pixelShape,
    outputShape: { height: space.height, width: space.width },
    codeDim: l,
    encode: (pixels) =>
      normalized(pixels, "encode").pipe(Effect.flatMap((rows) => batched(rows, l, (x) => codesOf(x, "encoder")))),
    infer: (pixels) =>
      normalized(pixels, "infer").pipe(Effect.flatMap((rows) => batched(rows, l, (x) => codesOf(x, "inferred")))),
    reconstruct: (pixels, options = {}) =>
      normalized(pixels, "reconstruct").pipe(
        Effect.flatMap((rows) => reconstructRows(rows, options.codes ?? "inferred"))
      ),
    denoise: (pixels, options) =>
      Effect.gen(function* () {
        if (!(Number.isFinite(options.sigma) && options.sigma >= 0)) {
          return yield* Effect.fail(
            new ModelInputError({
              what: "denoise",
              problem: `sigma ${options.sigma} is not a noise level; pass a standard deviation ≥ 0 in the model's input space`
            })
          )
        }
        const clean = yield* normalized(pixels, "denoise")
        const noisy: NormalizedRows = {
          ...clean,
          x: addNoise(clean.x, standardNoise(options.seed ?? 31, clean.x.length), options.sigma)
        }
        const cleanPixels = yield* batched(clean, dim, (x, indices) => clean.toPixels(x, indices))
        const noisyPixels = yield* batched(noisy, dim, (x, indices) => clean.toPixels(x, indices))
        const denoised = yield* reconstructRows(noisy, options.codes ?? "inferred")
        const psnr = (estimate: Float32Array) =>
          tf.tidy(
            () =>
              psnrSum(tf.tensor2d(cleanPixels, [clean.rows, dim]), tf.tensor2d(estimate, [clean.rows, dim])) /
              clean.rows
          )
        return { noisy: noisyPixels, denoised, noisyPsnr: psnr(noisyPixels), denoisedPsnr: psnr(denoised) }
      }),
    readImages: (paths) => readImageRows(paths, pixelShape),
    transform: (input) => pixelRows(input, "transform").pipe(Effect.flatMap((rows) => batched(rows, l, rowCodes))),
    inverseTransform: (input) =>
      Effect.gen(function* () {
        const fail = (problem: string) => Effect.fail(new ModelInputError({ what: "inverseTransform", problem }))
        if (space.normalization.kind === "lcn")
          return yield* fail(
            "this model's inputs are normalised per row (LCN patches), so codes alone do not give pixels; use reconstruct on the rows instead"
          )
        const codes = yield* flatRows(input, l, "the codes").pipe(
          Effect.mapError((p) => new ModelInputError({ what: "inverseTransform", problem: p.problem }))
        )
        const bad = nonFiniteProblem(codes.x, l, "the codes")
        if (bad !== null) return yield* fail(bad.problem)
        const toPixels = rowFreeToPixels(space.normalization)
        const out = new Float32Array(codes.rows * dim)
        for (const [start, end] of evenBatches(codes.rows, model.settings.batchSize)) {
          out.set(
            tf.tidy(
              () =>
                toPixels(
                  model.decoder.decode(tf.tensor2d(codes.x.subarray(start * l, end * l), [end - start, l]))
                ).dataSync() as Float32Array
            ),
            start * dim
          )
        }
        return out
      }),
    score: (input) =>
      Effect.gen(function* () {
        const rows = yield* pixelRows(input, "score")
        const lambda = model.composition.energy.lambda
        let psnr = 0
        let zeros = 0
        let energy = 0
        for (const [start, end] of evenBatches(rows.rows, model.settings.batchSize)) {
          const figures = tf.tidy(() => {
            const indices = Int32Array.from({ length: end - start }, (_, i) => start + i)
            const x = tf.tensor2d(rows.x.subarray(start * dim, end * dim), [end - start, dim])
            const z = rowCodes(x)
            const decoded = model.decoder.decode(z)
            const total = tf.add(tf.div(tf.sum(tf.square(tf.sub(x, decoded))), dim), tf.mul(tf.sum(tf.abs(z)), lambda))
            return {
              psnr: psnrSum(rows.toPixels(x, indices), rows.toPixels(decoded, indices)),
              zeros: zeroCount(z),
              energy: total.dataSync()[0]
            }
          })
          psnr += figures.psnr
          zeros += figures.zeros
          energy += figures.energy
        }
        return { psnr: psnr / rows.rows, zeroFraction: zeros / (rows.rows * l), energy: energy / rows.rows }
      }),
    partialFit: (input) =>
      Effect.gen(function* () {
        const rows = yield* pixelRows(input, "partialFit")
        let totals = emptyTotals
        for (const [b, [start, end]] of evenBatches(rows.rows, model.settings.batchSize).entries()) {
          const indices = Int32Array.from({ length: end - start }, (_, i) => start + i)
          const step = yield* Effect.sync(() => {
            const x = tf.tensor2d(rows.x.subarray(start * dim, end * dim), [end - start, dim])
            try {
              return trainStep(model, x, epochs, (t) => rows.toPixels(t, indices))
            } finally {
              x.dispose()
            }
          })
          if (step.nonFiniteCodes > 0 || !Number.isFinite(step.energy))
            return yield* Effect.fail(
              new DivergenceError({ epoch: epochs, batch: b, term: "the codes of partialFit's rows" })
            )
          totals = addTotals(totals, step)
        }
        return averageTotals(totals)
      }),
    get components() {
      const { images, count } = decoderColumns(model)
      const width = images.length / count
      return Array.from({ length: count }, (_, k) => images.slice(k * width, (k + 1) * width))
    },
    save: (dir) =>
      Effect.gen(function* () {
        const path = join(dir, bestCheckpointFile)
        yield* ensureDir(dir)
        yield* writeFileAtomic(path, encodeSnapshot(snapshotModel(model, variant, epochs - 1, undefined, space)))
        return path
      })
  }
}
