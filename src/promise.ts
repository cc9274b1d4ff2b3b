/**
 * The library for code that does not use Effect: each function runs the same stages as the
 * Effect API on a runtime of its own (the fastest backend that loads, log lines on stderr, no
 * progress bars) and returns a Promise. A failure rejects with the library's typed error, whose
 * message names what was wrong and the fix.
 *
 * ```ts
 * import { fit as fitModel } from "sparse-vdl/promise"
 * const model = await fitModel(rows, { model: "sdl", epochs: 5, validationFraction: 0.1, shape: { height: 8, width: 8 } })
 * const codes = await model.transform(rows)
 * await model.dispose()
 * ```
 *
 * @packageDocumentation
 */
import { Cause, Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Scope } from "effect"
import type { Composition } from "./models/composition.js"
import type { SplitMetrics } from "./models/model.js"
import type { ModelSettings, SettingsOverrides } from "./models/settings.js"
import type { DataKind, VariantName } from "./models/variants.js"
import { Backend, BackendLive, type BackendName, backendNames } from "./pipeline/backend/backend.js"
import { resolveSettings } from "./pipeline/train/config.js"
import type { Dataset } from "./pipeline/sources/dataset.js"
import { backendProblem, InputError } from "./pipeline/sources/checks.js"
import { plainLogger } from "./pipeline/logging.js"
import { type Progress, ProgressSilent } from "./pipeline/train/progress.js"
import { type RunSummary, trainRun } from "./pipeline/train/run.js"
import { settingsForTarget } from "./pipeline/train/target-sparsity.js"
import { evaluate } from "./pipeline/train/epoch.js"
import {
  type FitEpoch,
  type FitOptions as EffectFitOptions,
  type FitReport,
  epochHook,
  fit as effectFit,
  trainBest
} from "./pipeline/use/estimator.js"
import {
  type Denoised,
  type DenoiseOptions,
  type LoadedModel,
  loadModel as effectLoadModel,
  type ReconstructOptions,
  type Score
} from "./pipeline/use/loaded-model.js"
import type { Rows } from "./pipeline/use/rows.js"

export type { FitEpoch, FitReport, Rows, Score, VariantName }

/** Where log lines go and how many: "info", "warning" or "none". */
export type LogOption = "info" | "warning" | "none"

/** The data train reads: it trains on train, validates on val (the best epoch), and reports on test when there is one. */
export interface TrainData {
  readonly train: Dataset
  readonly val: Dataset
  readonly test?: Dataset
}

/** What {@link train} needs; only model, data, epochs and seed are required. */
export interface TrainOptions {
  /** A variant's name: sdl, vdl, sdl-nl, vdl-nl, wdl, wdl-nl or noreg. */
  readonly model: VariantName
  /** Settings that differ from the variant's preset (checked like the preset's). */
  readonly settings?: SettingsOverrides
  /** Which family of the variant's presets to start from: "mnist" (the default) or "patches"; a family the variant lacks falls back to "mnist". */
  readonly preset?: DataKind
  readonly data: TrainData
  readonly epochs: number
  /** One seed for initialisation and data order: the same seed on the same backend gives the same model. */
  readonly seed: number
  /** What the model is made of, when not what the settings name (a term of one's own). */
  readonly composition?: Composition
  /** Choose λ so that the validation codes have this share of zeros, by a short search before the run. */
  readonly targetSparsity?: number
  /** Called after each epoch's validation; a Promise it returns is awaited. */
  readonly onEpoch?: (event: FitEpoch) => void | Promise<void>
  /** Stops training between batches; with `out`, last.safetensors then holds where it stopped. The Promise rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /** A run folder to write (summary.json, metrics, checkpoints, pictures); none: nothing is written. */
  readonly out?: string
  /** Replace the run `out` holds when it is another run (other settings, seed, data or epochs); without it such a folder is refused. */
  readonly overwrite?: boolean
  /** A tfjs backend to use instead of the fastest that loads. */
  readonly backend?: BackendName
  /** Log lines on stderr: "info" (the default), "warning", or "none". */
  readonly log?: LogOption
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
  /** Null without a test split. */
  readonly test: SplitMetrics | null
  readonly settings: ModelSettings
  readonly seed: number
  /** The run folder written, or null. */
  readonly out: string | null
  /** The run folder's summary.json, when a folder was written. */
  readonly run: RunSummary | null
}

const logLevels = { info: LogLevel.Info, warning: LogLevel.Warning, none: LogLevel.None } as const

/** The backend option checked here, where a wrong name from JavaScript would otherwise fail inside the layer. */
const checkBackend = (entry: string, backend: unknown): void => {
  const problem = backendProblem(backend, backendNames)
  if (problem !== null) throw new InputError({ entry, ...problem })
}

/** The layers every function runs on, with its log level. */
const layers = (backend: BackendName | undefined, log: LogOption) =>
  Layer.mergeAll(BackendLive(backend), ProgressSilent).pipe(
    Layer.provide(Logger.minimumLogLevel(logLevels[log])),
    Layer.provide(plainLogger)
  )

/** An Exit as a Promise's outcome: a failure rejects with the error itself, an abort with the signal's reason. */
const settle = <A, E>(exit: Exit.Exit<A, E>, signal?: AbortSignal): A => {
  if (Exit.isSuccess(exit)) return exit.value
  if (signal?.aborted === true && Cause.isInterruptedOnly(exit.cause)) throw signal.reason
  throw Cause.squash(exit.cause)
}

/**
 * Train a variant on one's own data sets and report the best epoch; with `out`, also write the
 * run folder that `sparse-vdl train` writes. Every tensor is released when the Promise settles.
 */
export const train = async (options: TrainOptions): Promise<TrainSummary> => {
  checkBackend("train", options.backend)
  const program = Effect.gen(function* () {
    if (!(Number.isInteger(options.epochs) && options.epochs > 0)) {
      return yield* Effect.fail(
        new InputError({
          entry: "train",
          problem: `epochs ${options.epochs} is not allowed; give a whole number of epochs, 1 or more`,
          option: "epochs"
        })
      )
    }
    const preset = yield* resolveSettings(options.model, options.preset ?? "mnist", options.settings ?? {})
    const composition = options.composition === undefined ? {} : { composition: options.composition }
    const { settings, describe } = yield* settingsForTarget(
      options.model,
      { ...preset, epochs: options.epochs },
      options.data,
      options.targetSparsity,
      options.seed,
      options.composition
    )
    const loop = {
      model: options.model,
      settings,
      epochs: options.epochs,
      seed: options.seed,
      hooks: epochHook(options.onEpoch, options.epochs),
      describe,
      ...composition
    }
    if (options.out === undefined) {
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const backend = yield* Backend
          const { model, best, val } = yield* trainBest(loop, options.data)
          const test = options.data.test === undefined ? null : yield* evaluate(model, options.data.test)
          return {
            model: options.model,
            backend: backend.name,
            epochs: options.epochs,
            bestEpoch: best.epoch + 1,
            val,
            test,
            settings,
            seed: options.seed,
            out: null,
            run: null
          } satisfies TrainSummary
        })
      )
    }
    // overwrite goes through as a run option; a run that knows it refuses an occupied folder without it.
    const runOptions = { ...loop, out: options.out, overwrite: options.overwrite === true }
    const run = yield* trainRun(runOptions, options.data)
    return {
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
    } satisfies TrainSummary
  })
  const exit = await Effect.runPromiseExit(
    program.pipe(
      Effect.provide(Layer.merge(BackendLive(options.backend), ProgressSilent)),
      // Outside the layers, so that the backend's own log line obeys the level too.
      Logger.withMinimumLogLevel(logLevels[options.log ?? "info"]),
      Effect.provide(plainLogger)
    ),
    options.signal === undefined ? {} : { signal: options.signal }
  )
  return settle(exit, options.signal)
}

export interface LoadModelOptions {
  /** A tfjs backend to use instead of the fastest that loads. */
  readonly backend?: BackendName
  /** What the model is made of, for one trained with a composition of its own (a term of one's own). */
  readonly composition?: Composition
  /** Log lines on stderr: "info", "warning" (the default), or "none". */
  readonly log?: LogOption
}

/**
 * A trained model in memory, for code without Effect: every method takes rows of pixels in [0, 1]
 * (a Float32Array row-major, one image per row; transform, score and partialFit also an array of
 * rows or an Arrow table) and resolves to rows. `dispose()` releases its tensors.
 */
export interface PromiseModel {
  readonly variant: string
  readonly settings: ModelSettings
  readonly codeDim: number
  /** The pixels of one input row and of one reconstruction row. */
  readonly pixelShape: LoadedModel["pixelShape"]
  readonly outputShape: LoadedModel["outputShape"]
  /** Codes of each row on its own, rows × codeDim: the same for a row alone or among others (see the Effect LoadedModel). */
  readonly transform: (rows: Rows) => Promise<Float32Array>
  /** D(codes) in pixels, rows × outputShape. */
  readonly inverseTransform: (codes: Float32Array | ReadonlyArray<ReadonlyArray<number>>) => Promise<Float32Array>
  /** PSNR, zero fraction and energy of the rows with the codes of transform. */
  readonly score: (rows: Rows) => Promise<Score>
  /** One pass of training over these rows, in batches of at most the training batch size. */
  readonly partialFit: (rows: Rows) => Promise<SplitMetrics>
  /** The decoder's output atoms, one array per code component, as they are now. */
  readonly components: ReadonlyArray<Float32Array>
  /** Writes dir/checkpoint.safetensors, which loadModel(dir) reads; resolves to the file. */
  readonly save: (dir: string) => Promise<string>
  /** The encoder's codes, rows × codeDim. */
  readonly encode: (pixels: Float32Array) => Promise<Float32Array>
  /** Codes by the model's inference on its whole training energy (batch terms included), warm-started from the encoder's. */
  readonly infer: (pixels: Float32Array) => Promise<Float32Array>
  /** D(codes) in pixels. */
  readonly reconstruct: (pixels: Float32Array, options?: ReconstructOptions) => Promise<Float32Array>
  /** The inputs with Gaussian noise added in the model's input space, and their reconstructions. */
  readonly denoise: (pixels: Float32Array, options: DenoiseOptions) => Promise<Denoised>
  /** Image files as input rows: grey, scaled to cover pixelShape and centre-cropped. */
  readonly readImages: (paths: ReadonlyArray<string>) => Promise<Float32Array>
  /** Releases the model's tensors; the model cannot be used afterwards. */
  readonly dispose: () => Promise<void>
  /** The same as dispose. */
  readonly close: () => Promise<void>
}

/** A model {@link fit} returned: a PromiseModel with the facts of its training. */
export interface FittedModel extends PromiseModel {
  readonly report: FitReport
}

/** A LoadedModel made by `make` on a runtime of its own, whose methods run there; the runtime ends with dispose. */
const onOwnRuntime = async <M extends LoadedModel>(
  backend: BackendName | undefined,
  log: LogOption,
  make: Effect.Effect<M, unknown, Scope.Scope | Backend | Progress>,
  signal?: AbortSignal
): Promise<{ loaded: M; model: PromiseModel }> => {
  const runtime = ManagedRuntime.make(layers(backend, log))
  const scope = await runtime.runPromise(Scope.make())
  const run = <A, E>(effect: Effect.Effect<A, E, Backend | Progress>): Promise<A> =>
    runtime.runPromiseExit(effect).then((exit) => settle(exit))
  let disposed: Promise<void> | null = null
  const dispose = () =>
    (disposed ??= (async () => {
      await runtime.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    })())
  let loaded: M
  try {
    loaded = settle(
      await runtime.runPromiseExit(Scope.extend(make, scope), signal === undefined ? {} : { signal }),
      signal
    )
  } catch (e) {
    await dispose()
    throw e
  }
  const model: PromiseModel = {
    variant: loaded.variant,
    settings: loaded.settings,
    codeDim: loaded.codeDim,
    pixelShape: loaded.pixelShape,
    outputShape: loaded.outputShape,
    transform: (rows) => run(loaded.transform(rows)),
    inverseTransform: (codes) => run(loaded.inverseTransform(codes)),
    score: (rows) => run(loaded.score(rows)),
    partialFit: (rows) => run(loaded.partialFit(rows)),
    get components() {
      return loaded.components
    },
    save: (dir) => run(loaded.save(dir)),
    encode: (pixels) => run(loaded.encode(pixels)),
    infer: (pixels) => run(loaded.infer(pixels)),
    reconstruct: (pixels, o) => run(loaded.reconstruct(pixels, o)),
    denoise: (pixels, o) => run(loaded.denoise(pixels, o)),
    readImages: (paths) => run(loaded.readImages(paths)),
    dispose,
    close: dispose
  }
  return { loaded, model }
}

/** Loads a model from a run folder (its best epoch), a folder model.save wrote, or a checkpoint file; see the Effect loadModel. */
export const loadModel = async (path: string, options: LoadModelOptions = {}): Promise<PromiseModel> => {
  checkBackend("loadModel", options.backend)
  const load = effectLoadModel(path, options.composition === undefined ? {} : { composition: options.composition })
  return (await onOwnRuntime(options.backend, options.log ?? "warning", load)).model
}

/** What {@link fit} takes: the Effect fit's options (without hooks), a backend, a log level and an AbortSignal. */
export interface FitOptions extends Omit<EffectFitOptions, "hooks"> {
  /** A tfjs backend to use instead of the fastest that loads. */
  readonly backend?: BackendName
  /** Log lines on stderr: "info", "warning" (the default), or "none". */
  readonly log?: LogOption
  /**
   * Stops training between batches; with `out`, last.safetensors then holds where it stopped and
   * `fit` with the same rows and `{ ...options, resume: true }` continues it. The Promise rejects with the signal's reason.
   */
  readonly signal?: AbortSignal
}

/**
 * Trains a model on rows of pixels in [0, 1] (a Float32Array with `shape`, an array of rows, or
 * an Arrow table with one vector column), holding out `validationFraction` of them to pick the
 * best epoch, and resolves to the model. Call `dispose()` when done with it.
 */
export const fit = async (rows: Rows, options: FitOptions = {}): Promise<FittedModel> => {
  checkBackend("fit", options.backend)
  const { backend, log, signal, ...rest } = options
  const { loaded, model } = await onOwnRuntime(backend, log ?? "warning", effectFit(rows, rest), signal)
  return Object.defineProperties(model, { report: { value: loaded.report, enumerable: true } }) as FittedModel
}
