/**
 * Train a variant on data of one's own and write the usual run folder: the vectors of an Arrow
 * IPC file (a FixedSizeList<Float32>[d] column of pixel rows in [0, 1], with an optional image
 * shape as `shape: "28,28"` in the column's or the schema's metadata) or the images of a folder
 * (grey; all one size, or resized with --size). A seeded split holds out validation and test
 * rows, and the normalisation fitted on the training rows is stored in the checkpoints.
 *   npx tsx experiments/train-data.ts --arrow data.arrow --column pixels --model vdl --epochs 10
 *   npx tsx experiments/train-data.ts --images faces/ --size 32 --code-dim 64 --out runs/faces
 */
import { Command, Options } from "@effect/cli"
import { commandCli } from "../entry.js"
import { Effect, Option } from "effect"
import { resolve } from "node:path"
import { normalizationModes } from "../../pipeline/choices.js"
import { ConfigError } from "../../pipeline/errors.js"
import { freshRun } from "../fresh-run.js"
import { checkOutputFolder } from "../../pipeline/train/folder.js"
import {
  backendOption,
  choiceOption,
  defaultRunFolder,
  modelOption,
  outOption,
  overwriteOption,
  seedOption,
  settingsFromOptions,
  settingsOptions,
  targetSparsityOption
} from "../options.js"

/** Epochs when none are given (a queue worker checks a job against it). */
export const DEFAULT_EPOCHS = 20

const fraction = (name: string, what: string) =>
  Options.float(name).pipe(
    Options.withDescription(`share of the rows held out for ${what} (default 0.1)`),
    Options.withDefault(0.1)
  )

const options = {
  arrow: Options.file("arrow").pipe(
    Options.withDescription("an Arrow IPC file with a FixedSizeList<Float32>[d] column of pixel rows in [0, 1]"),
    Options.optional
  ),
  column: Options.text("column").pipe(
    Options.withDescription("the vector column of --arrow (default: its only FixedSizeList column)"),
    Options.optional
  ),
  images: Options.directory("images").pipe(
    Options.withDescription("a folder of JPEG/PNG images, made grey; all of one size unless --size is given"),
    Options.optional
  ),
  size: Options.integer("size").pipe(
    Options.withDescription("with --images: scale each image to cover N×N and cut out the centre"),
    Options.optional
  ),
  valFraction: fraction("val-fraction", "validation"),
  testFraction: fraction("test-fraction", "test"),
  normalize: choiceOption("normalize", normalizationModes).pipe(
    Options.withDescription(
      "global (default: (p − mean)/std over every training value), per-feature (each input value with its own mean and std) or none"
    ),
    Options.withDefault("global" as const)
  ),
  model: modelOption,
  // Optional rather than defaulted: as a setting, a given number of epochs is one of the overrides.
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(`training epochs (default ${DEFAULT_EPOCHS})`),
    Options.optional
  ),
  out: outOption,
  overwrite: overwriteOption,
  seed: seedOption,
  backend: backendOption,
  targetSparsity: targetSparsityOption,
  ...settingsOptions("mnist")
}

/** The command's options; a queued job may pass only these (registry.ts, src/pipeline/jobs/job.ts). */
export { options as trainDataOptions }

export const trainDataCommand = Command.make("train-data", options, (o) =>
  Effect.gen(function* () {
    if (Option.isSome(o.arrow) === Option.isSome(o.images)) {
      return yield* Effect.fail(
        new ConfigError({ option: "--arrow", problem: "give the data as exactly one of --arrow FILE or --images DIR" })
      )
    }
    const epochs = Option.getOrElse(o.epochs, () => DEFAULT_EPOCHS)
    if (epochs < 1)
      return yield* Effect.fail(
        new ConfigError({
          option: "--epochs",
          problem: `${epochs} is not allowed: give a whole number of epochs, 1 or more`
        })
      )
    if (Option.isSome(o.size) && o.size.value < 1)
      return yield* Effect.fail(
        new ConfigError({ option: "--size", problem: `${o.size.value} is not allowed: give a side of 1 pixel or more` })
      )
    if (Option.isSome(o.size) && Option.isSome(o.arrow))
      return yield* Effect.fail(
        new ConfigError({
          option: "--size",
          problem: "it resizes images; an Arrow file's rows are used as they are. Drop --size"
        })
      )
    const settings = yield* settingsFromOptions(o.model, "mnist", o)
    const out = Option.getOrElse(o.out, () => defaultRunFolder(o.model))
    // Whether a run already there may be replaced is the training loop's to say, once the data is known.
    yield* checkOutputFolder(out)
    // The library (Arrow, images, TensorFlow.js) loads when a run starts, not for --help.
    const [{ loadSource }, { dataSummary }] = yield* Effect.promise(() =>
      Promise.all([import("../../pipeline/sources/registry.js"), import("../../pipeline/sources/dataset.js")])
    )
    const name = Option.isSome(o.arrow) ? "arrow" : "images"
    const request = {
      seed: o.seed,
      data: resolve(Option.isSome(o.arrow) ? o.arrow.value : Option.getOrThrow(o.images)),
      ...(Option.isSome(o.column) ? { column: o.column.value } : {}),
      ...(Option.isSome(o.size) ? { size: o.size.value } : {}),
      valFraction: o.valFraction,
      testFraction: o.testFraction,
      normalize: o.normalize
    }
    const loaded = yield* loadSource(name, request)
    const splits = loaded.splits
    yield* Effect.logInfo(`data: ${loaded.describe}, normalisation ${o.normalize}`)
    yield* dataSummary(splits)
    if (splits.train.rows < settings.batchSize) {
      return yield* Effect.fail(
        new ConfigError({
          option: "--batch-size",
          problem: `a batch of ${settings.batchSize} is more than the ${splits.train.rows} training rows, so an epoch would have no batch; lower --batch-size or use more rows`
        })
      )
    }
    const data = Option.isSome(o.arrow)
      ? { arrow: { file: o.arrow.value, column: Option.getOrNull(o.column) } }
      : { images: { dir: Option.getOrThrow(o.images), size: Option.getOrNull(o.size) } }
    return yield* freshRun(
      {
        model: o.model,
        settings,
        epochs,
        seed: o.seed,
        out,
        overwrite: o.overwrite,
        describe: {
          source: loaded.describe,
          dataSource: { name, request },
          ...data,
          split: { valFraction: o.valFraction, testFraction: o.testFraction, seed: o.seed },
          normalize: o.normalize
        },
        targetSparsity: Option.getOrUndefined(o.targetSparsity),
        backend: Option.getOrUndefined(o.backend)
      },
      splits
    )
  })
)

/** The command line as a function of argv, for running it in-process (tests) as well as from a shell. */
export const trainDataCli = commandCli(trainDataCommand, "train-data")
