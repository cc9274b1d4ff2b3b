/**
 * Train one variant and write a run folder (summary, per-epoch metrics, pictures, the best
 * epoch's checkpoint and the latest state). With no option: VDL on the embedded 10,000 MNIST
 * digits for a few minutes; `--source NAME --data PATH` trains on another registered source
 * (src/pipeline/sources/registry.ts). `--resume FOLDER` continues a stopped run.
 *   sparse-vdl train --help      (or npx tsx experiments/mnist.ts --help)
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Dataset, Splits } from "../../pipeline/sources/dataset.js"
import { ConfigError, ResumeError } from "../../pipeline/errors.js"
import type { MnistSource } from "../../pipeline/sources/mnist.js"
import { checkOutputFolder } from "../../pipeline/train/folder.js"
import type { ResumePoint } from "../../pipeline/train/resume.js"
import { commandCli } from "../entry.js"
import { freshRun } from "../fresh-run.js"
import {
  atLeast,
  DEFAULT_MODEL,
  optionFor,
  DEFAULT_SEED,
  defaultRunFolder,
  resumeConflictError,
  settingsFromOptions,
  settingsOptions,
  targetSparsityOption
} from "../options.js"
import { checkCommonAgainstRun, continueRun, differs, resumableRunOptions, samePath } from "../resume.js"
import { presetFor, variantOf } from "../../models/variants.js"
import { dataSource as dataSourceOf, loadSource, requestProblem } from "../../pipeline/sources/registry.js"
import { mnistSource } from "../../pipeline/sources/mnist-source.js"
import { RecordedSource } from "../../pipeline/sources/source.js"
import { givenSourceOptions, requestFrom, sourceOptions } from "../source-options.js"

/** Epochs on the embedded digits when none are given (a queue worker checks a job against it). */
export const EMBEDDED_EPOCHS = 20

const options = {
  ...resumableRunOptions("data"),
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(
      `training epochs (default ${EMBEDDED_EPOCHS} on the embedded digits or another --source, the paper's 200 on an MNIST folder); with --resume, the new total`
    ),
    Options.optional
  ),
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription(
      "folder with the four MNIST IDX files (.gz or raw) and optionally validation-indices.txt; default: the 10,000 digits embedded in the npm package mnist"
    ),
    Options.optional
  ),
  download: Options.boolean("download").pipe(
    Options.withDescription(
      "download full MNIST (checksum-verified, cached in ~/.cache/sparse-vdl) instead of the embedded digits"
    )
  ),
  trainSize: Options.integer("train-size").pipe(
    Options.withDescription("use only the first N training images after the split"),
    Options.optional
  ),
  ...sourceOptions,
  targetSparsity: targetSparsityOption,
  ...settingsOptions("mnist")
}

/** The command's options; a queued job may pass only these (registry.ts, src/pipeline/jobs/job.ts). */
export { options as trainOptions }

type Parsed = Command.Command.ParseConfig<typeof options>

/** The option values the maths cannot use, refused before any data is read. */
const checkCounts = (o: Parsed) =>
  Effect.all([
    atLeast("--epochs", o.epochs, 1, "give a whole number of epochs, 1 or more"),
    atLeast("--train-size", o.trainSize, 1, "give a number of training images, 1 or more (and at least one batch)")
  ])

/** The data stages a run needs, loaded when it starts rather than for --help. */
const runModules = Effect.promise(() =>
  Promise.all([import("../../pipeline/sources/mnist.js"), import("../../pipeline/sources/dataset.js")])
).pipe(Effect.map(([mnist, dataset]) => ({ ...mnist, ...dataset })))

const loadSplits = (source: MnistSource, seed: number, trainSize: number | null, batchSize: number) =>
  Effect.gen(function* () {
    const { loadMnist, mapSplits, splitStage, normalizeMnistStage, dataSummary } = yield* runModules
    const data = yield* loadMnist(source)
    const splits = mapSplits(splitStage(seed, trainSize ?? undefined)(data), (s, name) => normalizeMnistStage(name)(s))
    yield* Effect.logInfo(`data: ${data.source}`)
    yield* dataSummary(splits)
    if (splits.train.rows < batchSize) {
      return yield* Effect.fail(
        new ConfigError({
          option: "--batch-size",
          problem: `a batch of ${batchSize} is more than the ${splits.train.rows} training images, so an epoch would have no batch; lower --batch-size or use more images (--train-size)`
        })
      )
    }
    return { splits: splits as Splits<Dataset>, source: data.source }
  })

/** What the CLI records about the data in the run folder, and reads back to resume. */
const DataDescription = Schema.Struct({
  mnist: Schema.Union(
    Schema.Struct({ kind: Schema.Literal("dir"), dir: Schema.String }),
    Schema.Struct({ kind: Schema.Literal("download") }),
    Schema.Struct({ kind: Schema.Literal("embedded") })
  ),
  trainSize: Schema.NullOr(Schema.Int)
})

/** The MNIST of --mnist-dir or --data (the same thing), or --download, else the embedded digits; a source option MNIST does not read is refused. */
const mnistFrom = (o: Parsed, seed: number) =>
  Effect.gen(function* () {
    if (Option.isSome(o.mnistDir) && Option.isSome(o.data))
      return yield* Effect.fail(
        new ConfigError({ option: "--data", problem: "--mnist-dir and --data both name the MNIST folder; give one" })
      )
    const problem = requestProblem(mnistSource, yield* requestFrom(o, seed, o.trainSize))
    if (problem !== null) return yield* Effect.fail(problem)
    const dir = Option.orElse(o.mnistDir, () => o.data)
    if (Option.isSome(dir) && o.download)
      return yield* Effect.fail(
        new ConfigError({
          option: "--download",
          problem: "give either a folder of MNIST files or --download, not both"
        })
      )
    const source: MnistSource = Option.isSome(dir)
      ? { kind: "dir", dir: dir.value }
      : o.download
        ? { kind: "download" }
        : { kind: "embedded" }
    return source
  })

/**
 * A run on a registered source other than MNIST: its preset family's settings (or the default
 * family's, for a variant without one), its data loaded from the request, which the run records
 * so that evaluations and a resume load the same data again.
 */
const freshFromSource = (o: Parsed, name: string) =>
  Effect.gen(function* () {
    const model = Option.getOrElse(o.model, () => DEFAULT_MODEL)
    const seed = Option.getOrElse(o.seed, () => DEFAULT_SEED)
    if (Option.isSome(o.mnistDir) || o.download) {
      return yield* Effect.fail(
        new ConfigError({
          option: Option.isSome(o.mnistDir) ? "--mnist-dir" : "--download",
          problem: `it is MNIST's; with --source ${name}, give the data as --data`
        })
      )
    }
    const request = yield* requestFrom(o, seed, o.trainSize)
    const source = yield* dataSourceOf(name)
    const problem = requestProblem(source, request)
    if (problem !== null) return yield* Effect.fail(problem)
    const variant = variantOf(model)
    const preset = variant === undefined ? undefined : presetFor(variant, source.presetFamily)
    if (preset !== undefined && preset.family !== source.presetFamily)
      yield* Effect.logInfo(
        `settings: ${model} has no ${source.presetFamily} preset; starting from its ${preset.family} preset`
      )
    const settings = yield* settingsFromOptions(model, source.presetFamily, o)
    const epochs = Option.getOrElse(o.epochs, () => EMBEDDED_EPOCHS)
    const out = Option.getOrElse(o.out, () => defaultRunFolder(model))
    // Whether a run already there may be replaced is the training loop's to say, once the data is known.
    yield* checkOutputFolder(out)
    const { dataSummary } = yield* runModules
    const loaded = yield* loadSource(name, request)
    yield* Effect.logInfo(`data: ${loaded.describe}`)
    yield* dataSummary(loaded.splits)
    if (loaded.splits.train.rows < settings.batchSize) {
      return yield* Effect.fail(
        new ConfigError({
          option: "--batch-size",
          problem: `a batch of ${settings.batchSize} is more than the ${loaded.splits.train.rows} training rows, so an epoch would have no batch; lower --batch-size or use more rows`
        })
      )
    }
    const describe = {
      source: loaded.describe,
      dataSource: { name, request },
      ...(loaded.classes === undefined ? {} : { classes: loaded.classes })
    }
    return yield* freshRun(
      {
        model,
        settings,
        epochs,
        seed,
        out,
        overwrite: o.overwrite,
        describe,
        targetSparsity: Option.getOrUndefined(o.targetSparsity),
        backend: Option.getOrUndefined(o.backend)
      },
      loaded.splits
    )
  })

const fresh = (o: Parsed) =>
  Effect.gen(function* () {
    const name = Option.getOrElse(o.source, () => "mnist")
    if (name !== "mnist") return yield* freshFromSource(o, name)
    const model = Option.getOrElse(o.model, () => DEFAULT_MODEL)
    const seed = Option.getOrElse(o.seed, () => DEFAULT_SEED)
    const source = yield* mnistFrom(o, seed)
    const settings = yield* settingsFromOptions(model, "mnist", o)
    const epochs = Option.getOrElse(o.epochs, () => (source.kind === "embedded" ? EMBEDDED_EPOCHS : settings.epochs))
    const out = Option.getOrElse(o.out, () => defaultRunFolder(model))
    // Whether a run already there may be replaced is the training loop's to say, once the data is known.
    yield* checkOutputFolder(out)
    const trainSize = Option.getOrNull(o.trainSize)
    const { splits, source: described } = yield* loadSplits(source, seed, trainSize, settings.batchSize)
    return yield* freshRun(
      {
        model,
        settings,
        epochs,
        seed,
        out,
        overwrite: o.overwrite,
        describe: { source: described, mnist: source, trainSize },
        targetSparsity: Option.getOrUndefined(o.targetSparsity),
        backend: Option.getOrUndefined(o.backend)
      },
      splits
    )
  })

/** Every option given besides --resume and --epochs must agree with the run being resumed. */
const checkAgainstRun = (o: Parsed, point: ResumePoint, data: typeof DataDescription.Type) =>
  Effect.gen(function* () {
    yield* checkCommonAgainstRun(o, point)
    if (differs(o.source, "mnist"))
      return yield* Effect.fail(resumeConflictError(point, "--source", Option.getOrThrow(o.source), "mnist"))
    const unread = [...givenSourceOptions(o), ...(Option.isSome(o.data) ? ["data"] : [])]
    if (unread.length > 0) {
      return yield* Effect.fail(
        new ConfigError({
          option: optionFor(unread[0]),
          problem: `the run in ${point.folder} was trained on MNIST, which keeps its data on resume; drop ${unread.map(optionFor).join(", ")}`
        })
      )
    }
    const sourceName = (s: typeof data.mnist) =>
      s.kind === "dir" ? `--mnist-dir ${s.dir}` : s.kind === "download" ? "--download" : "the embedded digits"
    if (differs(o.trainSize, data.trainSize ?? -1))
      return yield* Effect.fail(
        resumeConflictError(
          point,
          "--train-size",
          String(Option.getOrThrow(o.trainSize)),
          data.trainSize === null ? "all images" : String(data.trainSize)
        )
      )
    if (
      differs(o.mnistDir, data.mnist.kind === "dir" ? data.mnist.dir : "", samePath) ||
      (o.download && data.mnist.kind !== "download")
    ) {
      const given = Option.isSome(o.mnistDir) ? `--mnist-dir ${o.mnistDir.value}` : "--download"
      return yield* Effect.fail(
        new ConfigError({
          option: Option.isSome(o.mnistDir) ? "--mnist-dir" : "--download",
          problem: `the run in ${point.folder} was trained on ${sourceName(data.mnist)}, not ${given}; a resumed run keeps its data. Drop the option to continue it, or start a new run with another --out`
        })
      )
    }
  })

/** A run of a registered source resumes on the data it recorded; a source option given must be the recorded one. */
const resumeFromSource = (o: Parsed, point: ResumePoint, recorded: RecordedSource) =>
  Effect.gen(function* () {
    yield* checkCommonAgainstRun(o, point)
    const keeps = (option: string, given: string, was: string) =>
      Effect.fail(resumeConflictError(point, option, given, was))
    if (differs(o.source, recorded.name)) return yield* keeps("--source", Option.getOrThrow(o.source), recorded.name)
    if (differs(o.data, recorded.request.data ?? "", samePath))
      return yield* keeps("--data", Option.getOrThrow(o.data), recorded.request.data ?? "none")
    for (const option of [...givenSourceOptions(o), ...(Option.isSome(o.trainSize) ? (["trainSize"] as const) : [])]) {
      const given = (o[option] as Option.Option<unknown>).pipe(Option.getOrThrow)
      const was = recorded.request[option]
      if (given !== was)
        return yield* keeps(optionFor(option), String(given), was === undefined ? "(not given)" : String(was))
    }
    if (Option.isSome(o.mnistDir) || o.download)
      return yield* Effect.fail(
        new ConfigError({
          option: Option.isSome(o.mnistDir) ? "--mnist-dir" : "--download",
          problem: `the run in ${point.folder} was trained on the ${recorded.name} source, not MNIST; drop the option to continue it`
        })
      )
    return yield* continueRun(point, o.epochs, () =>
      Effect.map(loadSource(recorded.name, recorded.request), (loaded) => loaded.splits)
    )
  })

const resumeRun = (o: Parsed, folder: string) =>
  Effect.gen(function* () {
    const { readResumePoint } = yield* Effect.promise(() => import("../../pipeline/train/resume.js"))
    const point = yield* readResumePoint(folder)
    const fromSource = Schema.decodeUnknownOption(RecordedSource)(
      (point.progress.describe as { dataSource?: unknown } | undefined)?.dataSource
    )
    if (Option.isSome(fromSource)) return yield* resumeFromSource(o, point, fromSource.value)
    const data = yield* Schema.decodeUnknownEither(DataDescription)(point.progress.describe).pipe(
      Either.mapLeft(
        () =>
          new ResumeError({
            folder,
            problem:
              "its last.safetensors does not say which MNIST data it was trained on (it was not written by experiments/mnist.ts). Start a new run"
          })
      )
    )
    yield* checkAgainstRun(o, point, data)
    return yield* continueRun(point, o.epochs, (settings) =>
      Effect.map(
        loadSplits(data.mnist, point.progress.seed, data.trainSize, settings.batchSize),
        ({ splits }) => splits
      )
    )
  })

/** The command, named as the program calls it: `train` under sparse-vdl, `mnist` as experiments/mnist.ts. */
export const trainCommand = <const Name extends string>(name: Name) =>
  Command.make(name, options, (o) =>
    Effect.gen(function* () {
      yield* checkCounts(o)
      return Option.isSome(o.resume) ? yield* resumeRun(o, o.resume.value) : yield* fresh(o)
    })
  )

/** The command line of experiments/mnist.ts as a function of argv, for running it in-process (tests). */
export const mnistCli = commandCli(trainCommand("mnist"), "mnist")
