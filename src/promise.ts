/**
 * The library for code that does not use Effect: each function runs the same stages as the
 * Effect API on a runtime of its own (the fastest backend that loads, log lines on stderr, no
 * progress bars) and returns a Promise. A failure rejects with the library's typed error, whose
 * message names what was wrong and the fix.
 *
 * ```ts
 * import { datasetFromRows } from "sparse-vdl"
 * import { train } from "sparse-vdl/promise"
 * const summary = await train({ model: "vdl", data: { train, val, test }, epochs: 2, seed: 1, out: "runs/mine" })
 * ```
 *
 * @packageDocumentation
 */
import { Cause, Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Scope } from "effect"
import type { SplitMetrics } from "./models/model.js"
import type { ModelSettings, SettingsOverrides } from "./models/settings.js"
import type { DataKind } from "./models/variants.js"
import { Backend, BackendLive, type BackendName } from "./pipeline/backend/backend.js"
import { resolveSettings } from "./pipeline/train/config.js"
import type { Dataset, Splits } from "./pipeline/sources/dataset.js"
import { plainLogger } from "./pipeline/logging.js"
import { ProgressSilent } from "./pipeline/train/progress.js"
import { restoreSnapshot } from "./pipeline/train/checkpoint.js"
import { trainingLoop } from "./pipeline/train/loop.js"
import { type RunSummary, trainRun } from "./pipeline/train/run.js"
import { evaluate } from "./pipeline/train/epoch.js"
import { type Denoised, type DenoiseOptions, type LoadedModel, loadModel as effectLoadModel, type ReconstructOptions } from "./pipeline/use/loaded-model.js"

/** What {@link train} needs; only model, data, epochs and seed are required. */
export interface TrainOptions {
  /** A variant's name: sdl, vdl, sdl-nl, vdl-nl, wdl, wdl-nl or noreg. */
  readonly model: string
  /** Settings that differ from the variant's preset (checked like the preset's). */
  readonly settings?: SettingsOverrides
  /** Which of the variant's presets to start from: "mnist" (the default) or "patches". */
  readonly preset?: DataKind
  /** Trained on train, validated on val after each epoch (the best epoch has the lowest validation energy), reported on test. */
  readonly data: Splits<Dataset>
  readonly epochs: number
  /** One seed for initialisation and data order: the same seed on the same backend gives the same model. */
  readonly seed: number
  /** A run folder to write (summary.json, metrics, checkpoints, pictures); none: nothing is written. */
  readonly out?: string
  /** Replace the run `out` holds when it is another run (other settings, seed, data or epochs); without it such a folder is refused. */
  readonly overwrite?: boolean
  /** A tfjs backend to use instead of the fastest that loads. */
  readonly backend?: BackendName
  /** Log lines on stderr: "info" (the default), "warning", or "none". */
  readonly log?: "info" | "warning" | "none"
}

/** What {@link train} returns: the best epoch's figures on validation and test, with the run's facts. */
export interface TrainSummary {
  readonly model: string
  /** The backend the run used. */
  readonly backend: string
  readonly epochs: number
  /** 1-based, as in summary.json. */
  readonly bestEpoch: number
  readonly val: SplitMetrics
  readonly test: SplitMetrics
  readonly settings: ModelSettings
  readonly seed: number
  /** The run folder written, or null. */
  readonly out: string | null
  /** The run folder's summary.json, when a folder was written. */
  readonly run: RunSummary | null
}

const logLevels = { info: LogLevel.Info, warning: LogLevel.Warning, none: LogLevel.None } as const

/** Run an Effect of the library to a Promise; a failure rejects with the error itself, not a wrapper. */
const toPromise = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/** Without a folder: the loop alone, then its best epoch restored and evaluated, as trainRun does. */
const trainInMemory = (options: TrainOptions, settings: ModelSettings) =>
  Effect.scoped(
    Effect.gen(function* () {
      const backend = yield* Backend
      const { model, best } = yield* trainingLoop({ model: options.model, settings, epochs: options.epochs, seed: options.seed }, options.data)
      if (best === null) return yield* Effect.dieMessage("train needs at least one epoch")
      yield* restoreSnapshot(model, best.snapshot, "the best epoch in memory")
      const val = yield* evaluate(model, options.data.val)
      const test = yield* evaluate(model, options.data.test)
      return { model: options.model, backend: backend.name, epochs: options.epochs, bestEpoch: best.epoch + 1, val, test, settings, seed: options.seed, out: null, run: null }
    })
  )

/**
 * Train a variant on one's own data sets and report the best epoch; with `out`, also write the
 * run folder that `sparse-vdl train` writes. Every tensor is released when the Promise settles.
 */
export const train = (options: TrainOptions): Promise<TrainSummary> => {
  const program = Effect.gen(function* () {
    if (!(Number.isInteger(options.epochs) && options.epochs > 0)) {
      return yield* Effect.fail(new RangeError(`train: epochs ${options.epochs} is not allowed; give a whole number of epochs, 1 or more`))
    }
    const preset = yield* resolveSettings(options.model, options.preset ?? "mnist", options.settings ?? {})
    const settings: ModelSettings = { ...preset, epochs: options.epochs }
    if (options.out === undefined) return yield* trainInMemory(options, settings)
    const run = yield* trainRun({ model: options.model, settings, epochs: options.epochs, seed: options.seed, out: options.out, overwrite: options.overwrite === true }, options.data)
    const summary: TrainSummary = {
      model: run.model,
      backend: run.backend,
      epochs: run.epochs,
      bestEpoch: run.bestEpoch,
      val: run.val,
      test: run.test,
      settings,
      seed: options.seed,
      out: options.out,
      run
    }
    return summary
  })
  return toPromise(
    program.pipe(
      Effect.provide(Layer.merge(BackendLive(options.backend), ProgressSilent)),
      // Outside the layers, so that the backend's own log line obeys the level too.
      Logger.withMinimumLogLevel(logLevels[options.log ?? "info"]),
      Effect.provide(plainLogger)
    )
  )
}

export interface LoadModelOptions {
  /** A tfjs backend to use instead of the fastest that loads. */
  readonly backend?: BackendName
  /** Log lines on stderr: "info", "warning" (the default), or "none". */
  readonly log?: "info" | "warning" | "none"
}

/**
 * A trained model in memory, for code without Effect: every method takes rows of pixels in [0, 1]
 * (row-major, one image per row) and resolves to rows. `close()` releases its tensors.
 */
export interface PromiseModel {
  readonly variant: string
  readonly settings: ModelSettings
  readonly codeDim: number
  /** The pixels of one input row and of one reconstruction row. */
  readonly pixelShape: LoadedModel["pixelShape"]
  readonly outputShape: LoadedModel["outputShape"]
  /** The encoder's codes, rows × codeDim. */
  readonly encode: (pixels: Float32Array) => Promise<Float32Array>
  /** Codes by the model's inference on its energy, warm-started from the encoder's. */
  readonly infer: (pixels: Float32Array) => Promise<Float32Array>
  /** D(codes) in pixels. */
  readonly reconstruct: (pixels: Float32Array, options?: ReconstructOptions) => Promise<Float32Array>
  /** The inputs with Gaussian noise added in the model's input space, and their reconstructions. */
  readonly denoise: (pixels: Float32Array, options: DenoiseOptions) => Promise<Denoised>
  /** Image files as input rows: grey, scaled to cover pixelShape and centre-cropped. */
  readonly readImages: (paths: ReadonlyArray<string>) => Promise<Float32Array>
  readonly close: () => Promise<void>
}

/** Loads a model from a run folder (its best epoch) or a checkpoint file; see the Effect loadModel. */
export const loadModel = async (path: string, options: LoadModelOptions = {}): Promise<PromiseModel> => {
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(BackendLive(options.backend), ProgressSilent).pipe(
      Layer.provide(Logger.minimumLogLevel(logLevels[options.log ?? "warning"])),
      Layer.provide(plainLogger)
    )
  )
  const scope = await runtime.runPromise(Scope.make())
  const run = <A, E>(effect: Effect.Effect<A, E, Backend>): Promise<A> =>
    runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  const close = async () => {
    await runtime.runPromise(Scope.close(scope, Exit.void))
    await runtime.dispose()
  }
  let loaded: LoadedModel
  try {
    loaded = await run(Scope.extend(effectLoadModel(path), scope))
  } catch (e) {
    await close()
    throw e
  }
  return {
    variant: loaded.variant,
    settings: loaded.settings,
    codeDim: loaded.codeDim,
    pixelShape: loaded.pixelShape,
    outputShape: loaded.outputShape,
    encode: (pixels) => run(loaded.encode(pixels)),
    infer: (pixels) => run(loaded.infer(pixels)),
    reconstruct: (pixels, o) => run(loaded.reconstruct(pixels, o)),
    denoise: (pixels, o) => run(loaded.denoise(pixels, o)),
    readImages: (paths) => run(loaded.readImages(paths)),
    close
  }
}
