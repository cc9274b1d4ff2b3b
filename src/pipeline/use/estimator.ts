/**
 * fit in the shape scikit-learn users know: rows in, a trained model out, the same kind of model
 * loadModel gives (transform, inverseTransform, score, partialFit, components, save). The rows are
 * split by the seed into training and validation rows; the best epoch (lowest validation energy)
 * is the model returned.
 */
import { Effect } from "effect"
import type { Composition } from "../../models/composition.js"
import type { SplitMetrics } from "../../models/model.js"
import type { ModelSettings, SettingsOverrides } from "../../models/settings.js"
import type { DataKind, VariantName } from "../../models/variants.js"
import { gatherRows } from "../../models/gather-rows.js"
import { restoreSnapshot } from "../train/checkpoint.js"
import { resolveSettings } from "../train/config.js"
import { type LoopData, type LoopOptions, type TrainingHooks, trainingLoop } from "../train/loop.js"
import { readResumePoint } from "../train/resume.js"
import { type RunSummary, trainRun } from "../train/run.js"
import { rngFor } from "../train/seeds.js"
import { type LambdaSearch, settingsForTarget } from "../train/target-sparsity.js"
import { evaluate } from "../train/epoch.js"
import { datasetFromRows } from "../sources/dataset.js"
import { InputError, nonFiniteProblem, pixelRangeProblem } from "../sources/checks.js"
import { type LoadedModel, loadModel, useModel } from "./loaded-model.js"
import { flatRows, type Rows } from "./rows.js"

/** What onEpoch is told after each epoch's validation. */
export interface FitEpoch {
  /** 1-based. */
  readonly epoch: number
  readonly epochs: number
  /** The epoch's training figures (inferred codes) and validation figures (encoder codes). */
  readonly train: SplitMetrics
  readonly val: SplitMetrics
}

export interface FitOptions<E = never, R = never> {
  /** The variant; default "vdl". */
  readonly model?: VariantName
  /** Which of its presets to start from; default "mnist". */
  readonly preset?: DataKind
  /** Settings that differ from the preset, checked like it. */
  readonly settings?: SettingsOverrides
  /** Default 10. */
  readonly epochs?: number
  /** One seed for the split, the initialisation and the data order; default 0. */
  readonly seed?: number
  /** The share of rows held out for validation (and the choice of the best epoch); default 0.1. */
  readonly validationFraction?: number
  /**
   * For a flat Float32Array: the values per row, or the image shape. An array of rows gives its
   * own width, an Arrow table its column's (and shape metadata); the shape defaults to a square
   * when the width is a square number, else one row of pixels.
   */
  readonly shape?: number | { readonly height: number; readonly width: number }
  /** What the model is made of, when not what the settings name (a term of one's own). */
  readonly composition?: Composition
  /** Choose λ so that the validation codes have this share of zeros (a short search first; see searchLambda). */
  readonly targetSparsity?: number
  /** Called after each epoch; a Promise it returns is awaited. */
  readonly onEpoch?: (event: FitEpoch) => void | Promise<void>
  /** Hooks of the training loop, for Effect code. */
  readonly hooks?: ReadonlyArray<TrainingHooks<E, R>>
  /** A run folder to write (summary.json, metrics, checkpoints, pictures); none: nothing is written. */
  readonly out?: string
  /** Continue the stopped run in `out` (same rows, seed and settings) instead of starting afresh. */
  readonly resume?: boolean
  /**
   * Replace a run already in `out`. Passed to the run's options; the refusal of a folder that
   * holds another run is the run's own.
   */
  readonly overwrite?: boolean
}

/** What fit learned besides the model. */
export interface FitReport {
  readonly variant: VariantName
  readonly settings: ModelSettings
  readonly epochs: number
  /** 1-based. */
  readonly bestEpoch: number
  /** The best epoch's validation figures (encoder codes). */
  readonly val: SplitMetrics
  readonly rows: { readonly train: number; readonly val: number }
  /** The λ search, when targetSparsity was given. */
  readonly lambdaSearch: LambdaSearch | null
  /** The run folder's summary.json, when `out` was given. */
  readonly run: RunSummary | null
}

/** A model fit returned: a LoadedModel with the facts of its training. */
export interface FittedModel extends LoadedModel {
  readonly report: FitReport
}

/** A callback for each epoch (a Promise it returns is awaited) as the training loop's hook. */
export const epochHook = (
  onEpoch: ((event: FitEpoch) => void | Promise<void>) | undefined,
  epochs: number
): ReadonlyArray<TrainingHooks> =>
  onEpoch === undefined
    ? []
    : [
        {
          onEpoch: (e) =>
            Effect.promise(async () => void (await onEpoch({ epoch: e.epoch + 1, epochs, train: e.train, val: e.val })))
        }
      ]

/** Trains in memory and restores the best epoch (lowest validation energy), with its validation figures. */
export const trainBest = <E, R>(loop: LoopOptions<E, R>, data: LoopData) =>
  Effect.gen(function* () {
    const { model, best } = yield* trainingLoop(loop, data)
    if (best === null) return yield* Effect.dieMessage(`${loop.model} trained no epoch`)
    yield* restoreSnapshot(model, best.snapshot, "the best epoch in memory")
    const val = yield* evaluate(model, data.val)
    return { model, best, val }
  })

/** The model with its report; its getters (components) stay getters. */
const withReport = (loaded: LoadedModel, report: FitReport): FittedModel =>
  Object.defineProperties(
    {},
    { ...Object.getOwnPropertyDescriptors(loaded), report: { value: report, enumerable: true } }
  ) as FittedModel

const refuse = (problem: string, option?: string) =>
  Effect.fail(new InputError({ entry: "fit", problem, ...(option === undefined ? {} : { option }) }))

/**
 * Trains a model on rows of pixels in [0, 1] and returns it, released with the scope. Fails with
 * an InputError naming the row, column or option for input it cannot take.
 */
export const fit = <E = never, R = never>(rows: Rows, options: FitOptions<E, R> = {}) =>
  Effect.gen(function* () {
    const variant: VariantName = options.model ?? "vdl"
    const epochs = options.epochs ?? 10
    const seed = options.seed ?? 0
    const fraction = options.validationFraction ?? 0.1
    if (!(Number.isInteger(epochs) && epochs > 0))
      return yield* refuse(`epochs ${epochs} is not allowed; give a whole number of epochs, 1 or more`, "epochs")
    if (!Number.isInteger(seed)) return yield* refuse(`seed ${seed} is not a whole number; give one`, "seed")
    if (!(fraction > 0 && fraction < 1))
      return yield* refuse(
        `validationFraction ${fraction} is not between 0 and 1 (exclusive); give 0.1, say`,
        "validationFraction"
      )
    if (options.resume === true && options.out === undefined)
      return yield* refuse("resume needs the run folder to continue; give out", "out")
    const width =
      typeof options.shape === "number"
        ? options.shape
        : options.shape === undefined
          ? undefined
          : options.shape.height * options.shape.width
    const flat = yield* flatRows(rows, width, "the rows").pipe(
      Effect.mapError((p) => new InputError({ entry: "fit", ...p }))
    )
    const problem =
      nonFiniteProblem(flat.x, flat.dim, "the rows") ??
      pixelRangeProblem(flat.x, flat.dim, "the rows", "map them to [0, 1] first (fit takes pixels)")
    if (problem !== null) return yield* Effect.fail(new InputError({ entry: "fit", ...problem }))
    const shape = typeof options.shape === "object" ? options.shape : flat.shape
    const valRows = Math.round(flat.rows * fraction)
    const trainRows = flat.rows - valRows
    if (valRows < 1 || trainRows < 1) {
      return yield* refuse(
        `${flat.rows} rows split as ${trainRows} training / ${valRows} validation leave a split empty; give more rows or another validationFraction`,
        "validationFraction"
      )
    }
    const order = Int32Array.from(rngFor(seed, "split").permutation(flat.rows))
    const split = (name: string, indices: Int32Array) =>
      datasetFromRows(gatherRows(flat.x, flat.dim, indices), flat.dim, { name, ...(shape === undefined ? {} : shape) })
    const data = { train: split("train", order.subarray(0, trainRows)), val: split("val", order.subarray(trainRows)) }

    const preset = yield* resolveSettings(variant, options.preset ?? "mnist", options.settings ?? {})
    const composition = options.composition === undefined ? {} : { composition: options.composition }
    const chosen = yield* settingsForTarget(
      variant,
      { ...preset, epochs },
      data,
      options.targetSparsity,
      seed,
      options.composition
    )
    const { settings, search: lambdaSearch } = chosen
    const hooks: ReadonlyArray<TrainingHooks<E, R>> = [...(options.hooks ?? []), ...epochHook(options.onEpoch, epochs)]
    const describe = { rows: flat.rows, validationFraction: fraction, ...chosen.describe }
    const loop = { model: variant, settings, epochs, seed, hooks, describe, ...composition }
    const report = (bestEpoch: number, val: SplitMetrics, run: RunSummary | null): FitReport => ({
      variant,
      settings,
      epochs,
      bestEpoch,
      val,
      rows: { train: data.train.rows, val: data.val.rows },
      lambdaSearch,
      run
    })

    if (options.out !== undefined) {
      const resume = options.resume === true ? { resume: yield* readResumePoint(options.out) } : {}
      // overwrite goes through as a run option; a run that knows it refuses an occupied folder without it.
      const runOptions = { ...loop, out: options.out, overwrite: options.overwrite === true, ...resume }
      const run = yield* trainRun(runOptions, data)
      const loaded = yield* loadModel(options.out, composition)
      return withReport(loaded, report(run.bestEpoch, run.val, run))
    }
    const { model, best, val } = yield* trainBest(loop, data)
    const space = { height: data.train.height, width: data.train.width, normalization: { kind: "none" } } as const
    const loaded = useModel(model, variant, space, "(in memory)", best.epoch + 1)
    return withReport(loaded, report(best.epoch + 1, val, null))
  })
