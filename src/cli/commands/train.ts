/**
 * Train one variant on MNIST and write a run folder (summary, per-epoch metrics, pictures, the
 * best epoch's checkpoint and the latest state). With no option: VDL on the embedded 10,000
 * digits for a few minutes. `--resume FOLDER` continues a stopped run.
 *   sparse-vdl train --help      (or npx tsx experiments/mnist.ts --help)
 */
import { Command, Options } from "@effect/cli"
import { Effect, Either, Option, Schema } from "effect"
import type { Dataset, Splits } from "../../pipeline/sources/dataset.js"
import { ConfigError, ResumeError } from "../../pipeline/errors.js"
import type { MnistSource } from "../../pipeline/sources/mnist.js"
import { checkOutputFolder } from "../../pipeline/train/folder.js"
import type { ResumePoint } from "../../pipeline/train/resume.js"
import { commandCli } from "../entry.js"
import { atLeast, DEFAULT_MODEL, DEFAULT_SEED, defaultRunFolder, resumeConflictError, settingsFromOptions, settingsOptions } from "../options.js"
import { checkCommonAgainstRun, continueRun, differs, resumableRunOptions, samePath } from "../resume.js"

const EMBEDDED_EPOCHS = 20

const options = {
  ...resumableRunOptions("data"),
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(`training epochs (default ${EMBEDDED_EPOCHS} on the embedded digits, the paper's 200 on a data folder); with --resume, the new total`),
    Options.optional
  ),
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription("folder with the four MNIST IDX files (.gz or raw) and optionally validation-indices.txt; default: the 10,000 digits embedded in the npm package mnist"),
    Options.optional
  ),
  download: Options.boolean("download").pipe(Options.withDescription("download full MNIST (checksum-verified, cached in ~/.cache/sparse-vdl) instead of the embedded digits")),
  trainSize: Options.integer("train-size").pipe(Options.withDescription("use only the first N training images after the split"), Options.optional),
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

/** The library a run needs, loaded when it starts rather than for --help. */
const runModules = Effect.promise(() =>
  Promise.all([import("../../pipeline/sources/mnist.js"), import("../../pipeline/sources/dataset.js"), import("../../pipeline/train/run.js"), import("../../pipeline/backend/backend.js")])
).pipe(Effect.map(([mnist, dataset, run, backend]) => ({ ...mnist, ...dataset, ...run, ...backend })))

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

const fresh = (o: Parsed) =>
  Effect.gen(function* () {
    const model = Option.getOrElse(o.model, () => DEFAULT_MODEL)
    const seed = Option.getOrElse(o.seed, () => DEFAULT_SEED)
    const source: MnistSource = Option.isSome(o.mnistDir) ? { kind: "dir", dir: o.mnistDir.value } : o.download ? { kind: "download" } : { kind: "embedded" }
    const settings = yield* settingsFromOptions(model, "mnist", o)
    const epochs = Option.getOrElse(o.epochs, () => (source.kind === "embedded" ? EMBEDDED_EPOCHS : settings.epochs))
    const out = Option.getOrElse(o.out, () => defaultRunFolder(model))
    const folder = yield* checkOutputFolder(out)
    if (folder.holdsRun) yield* Effect.logWarning(`${out} holds an earlier run; this one replaces it (to continue that one instead: --resume ${out})`)
    const trainSize = Option.getOrNull(o.trainSize)
    const { splits, source: described } = yield* loadSplits(source, seed, trainSize, settings.batchSize)
    const { trainRun, BackendLive } = yield* runModules
    return yield* trainRun({ model, settings: { ...settings, epochs }, epochs, seed, out, describe: { source: described, mnist: source, trainSize } }, splits).pipe(
      Effect.provide(BackendLive(Option.getOrUndefined(o.backend)))
    )
  })

/** Every option given besides --resume and --epochs must agree with the run being resumed. */
const checkAgainstRun = (o: Parsed, point: ResumePoint, data: typeof DataDescription.Type) =>
  Effect.gen(function* () {
    yield* checkCommonAgainstRun(o, point)
    const sourceName = (s: typeof data.mnist) => (s.kind === "dir" ? `--mnist-dir ${s.dir}` : s.kind === "download" ? "--download" : "the embedded digits")
    if (differs(o.trainSize, data.trainSize ?? -1)) return yield* Effect.fail(resumeConflictError(point, "--train-size", String(Option.getOrThrow(o.trainSize)), data.trainSize === null ? "all images" : String(data.trainSize)))
    if (differs(o.mnistDir, data.mnist.kind === "dir" ? data.mnist.dir : "", samePath) || (o.download && data.mnist.kind !== "download")) {
      const given = Option.isSome(o.mnistDir) ? `--mnist-dir ${o.mnistDir.value}` : "--download"
      return yield* Effect.fail(
        new ConfigError({ option: Option.isSome(o.mnistDir) ? "--mnist-dir" : "--download", problem: `the run in ${point.folder} was trained on ${sourceName(data.mnist)}, not ${given}; a resumed run keeps its data. Drop the option to continue it, or start a new run with another --out` })
      )
    }
  })

const resumeRun = (o: Parsed, folder: string) =>
  Effect.gen(function* () {
    const { readResumePoint } = yield* Effect.promise(() => import("../../pipeline/train/resume.js"))
    const point = yield* readResumePoint(folder)
    const data = yield* Schema.decodeUnknownEither(DataDescription)(point.progress.describe).pipe(
      Either.mapLeft(() => new ResumeError({ folder, problem: "its last.safetensors does not say which MNIST data it was trained on (it was not written by experiments/mnist.ts). Start a new run" }))
    )
    yield* checkAgainstRun(o, point, data)
    return yield* continueRun(point, o.epochs, (settings) => Effect.map(loadSplits(data.mnist, point.progress.seed, data.trainSize, settings.batchSize), ({ splits }) => splits))
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
