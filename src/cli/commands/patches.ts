/**
 * Natural-image patches: build the data set from folders of photos, then train a variant on it
 * with the paper's patch settings and write the usual run folder (docs/patches.md).
 *   npx tsx experiments/patches.ts build --images DIR [--test-images DIR] --out FILE
 *   npx tsx experiments/patches.ts train --data FILE --model vdl [--epochs N] [--out DIR]
 *   npx tsx experiments/patches.ts train --resume DIR [--epochs N]
 *   npx tsx experiments/patches.ts build --help
 */
import { Command, Options } from "@effect/cli"
import { Effect, Either, Option, Schema } from "effect"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { badImagesPolicies, scaleFloorModes } from "../../pipeline/choices.js"
import { ConfigError, ResumeError } from "../../pipeline/errors.js"
import {
  atLeast,
  choiceOption,
  zeroOrMore,
  DEFAULT_MODEL,
  DEFAULT_SEED,
  defaultRunFolder,
  resumeConflictError,
  seedOption,
  settingsFromOptions,
  settingsOptions
} from "../options.js"
import { checkCommonAgainstRun, continueRun, differs, resumableRunOptions, samePath } from "../resume.js"

/** Repeated options and comma lists both name several folders. */
const folders = (values: readonly string[]): string[] =>
  values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "")

const count = (name: string, what: string, fallback: number) =>
  Options.integer(name).pipe(
    Options.withDescription(`${what} (default ${fallback.toLocaleString("en")})`),
    Options.withDefault(fallback)
  )

const build = Command.make(
  "build",
  {
    images: Options.text("images").pipe(
      Options.repeated,
      Options.withDescription(
        "folder of JPEG/PNG photos for train and validation patches; repeat it or give a comma list for several"
      )
    ),
    testImages: Options.text("test-images").pipe(
      Options.withDescription(
        "folder(s) of photos for test patches, none of which may also be in --images; default: a seeded share of the --images photos is held out whole"
      ),
      zeroOrMore
    ),
    out: Options.text("out").pipe(
      Options.withDescription(
        "the Arrow file to write; it appears only when complete (a build report goes beside it as FILE.json)"
      )
    ),
    train: count("train", "training patches", 200_000),
    val: count("val", "validation patches", 20_000),
    test: count("test", "test patches", 20_000),
    seed: seedOption,
    badImages: choiceOption("bad-images", badImagesPolicies).pipe(
      Options.withDescription(
        "a photo that cannot be read or decoded: error (default: stop, naming it) or skip (leave it out; each is named in a warning and listed, with the reason, in the build report)"
      ),
      Options.withDefault("error" as const)
    ),
    scaleFloor: choiceOption("scale-floor", scaleFloorModes).pipe(
      Options.withDescription(
        "the level low local scales s are raised to: data (default: the mean of s over 1,000 crops of the training photos, one level for all, as the authors' code, so low-contrast crops stay faint and the std filter drops them) or patch (each crop's own mean of s: every crop at unit contrast, flat ones included)"
      ),
      Options.withDefault("data" as const)
    )
  },
  (o) =>
    Effect.gen(function* () {
      const { buildPatchFile } = yield* Effect.promise(() => import("../../pipeline/patches/build.js"))
      const report = yield* buildPatchFile({
        images: folders(o.images),
        testImages: folders(o.testImages),
        out: o.out,
        sizes: { train: o.train, val: o.val, test: o.test },
        seed: o.seed,
        badImages: o.badImages,
        scaleFloor: o.scaleFloor
      })
      yield* writeFileAtomic(
        `${o.out}.json`,
        JSON.stringify(
          {
            ...report,
            seed: o.seed,
            images: { ...report.images, folders: folders(o.images), testFolders: folders(o.testImages) }
          },
          null,
          2
        ) + "\n"
      )
    })
).pipe(
  Command.withDescription(
    "build an Arrow file of LCN patches (patch, local mean, local scale, source photo, crop corner, split) from folders of photos"
  )
)

const trainOptions = {
  data: Options.file("data").pipe(
    Options.withDescription("patch file written by `build` (not with --resume: a resumed run keeps its file)"),
    Options.optional
  ),
  epochs: Options.integer("epochs").pipe(
    Options.withDescription("training epochs (default: the preset's, 100 for patches); with --resume, the new total"),
    Options.optional
  ),
  trainSize: Options.integer("train-size").pipe(
    Options.withDescription("use only the first N training patches"),
    Options.optional
  ),
  ...resumableRunOptions("patch file"),
  ...settingsOptions("patches")
}

/** The options of `patches train`; a queued job may pass only these (registry.ts, src/pipeline/jobs/job.ts). */
export { trainOptions as patchesTrainOptions }

type TrainParsed = Command.Command.ParseConfig<typeof trainOptions>

/** What a patch run records about its data, and reads back to resume. */
const PatchDataDescription = Schema.Struct({ patchFile: Schema.String, trainSize: Schema.NullOr(Schema.Int) })

/** The library a run needs, loaded when it starts rather than for --help. */
const runModules = Effect.promise(() =>
  Promise.all([
    import("../../pipeline/patches/datasets.js"),
    import("../../pipeline/sources/dataset.js"),
    import("../../pipeline/train/run.js"),
    import("../../pipeline/backend/backend.js")
  ])
).pipe(Effect.map(([patches, dataset, run, backend]) => ({ ...patches, ...dataset, ...run, ...backend })))

const loadPatches = (data: string, trainSize: number | null) =>
  Effect.gen(function* () {
    const { loadPatchSplits, dataSummary } = yield* runModules
    const { file, splits } = yield* loadPatchSplits(data, trainSize ?? undefined)
    yield* Effect.logInfo(`data: ${data} (${file.size}×${file.size} LCN patches)`)
    yield* dataSummary(splits)
    return { file, splits }
  })

const freshPatchRun = (o: TrainParsed) =>
  Effect.gen(function* () {
    if (Option.isNone(o.data))
      return yield* Effect.fail(
        new ConfigError({
          option: "--data",
          problem: "give the patch file to train on (written by `patches build`), or --resume DIR to continue a run"
        })
      )
    const data = o.data.value
    const model = Option.getOrElse(o.model, () => DEFAULT_MODEL)
    const seed = Option.getOrElse(o.seed, () => DEFAULT_SEED)
    const settings = yield* settingsFromOptions(model, "patches", o)
    const epochs = Option.getOrElse(o.epochs, () => settings.epochs)
    const trainSize = Option.getOrNull(o.trainSize)
    const { file, splits } = yield* loadPatches(data, trainSize)
    const { trainRun, BackendLive } = yield* runModules
    const out = Option.getOrElse(o.out, () => defaultRunFolder(`patches-${model}`))
    return yield* trainRun(
      {
        model,
        settings: { ...settings, epochs },
        epochs,
        seed,
        out,
        overwrite: o.overwrite,
        describe: {
          source: `patch file ${data}`,
          patchFile: data,
          trainSize,
          build: file.metadata,
          psnr: "pixel space: each patch and reconstruction mapped back with its stored local mean μ and scale s, pixels = (x·s + μ)·0.259 + 0.457"
        }
      },
      splits
    ).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
  })

const resumePatchRun = (o: TrainParsed, folder: string) =>
  Effect.gen(function* () {
    const { readResumePoint } = yield* Effect.promise(() => import("../../pipeline/train/resume.js"))
    const point = yield* readResumePoint(folder)
    const recorded = yield* Schema.decodeUnknownEither(PatchDataDescription)(point.progress.describe).pipe(
      Either.mapLeft(
        () =>
          new ResumeError({
            folder,
            problem:
              "its last.safetensors does not name a patch file (it was not written by `patches train`). Start a new run, or resume it with the command that wrote it"
          })
      )
    )
    yield* checkCommonAgainstRun(o, point)
    if (differs(o.data, recorded.patchFile, samePath))
      return yield* Effect.fail(resumeConflictError(point, "--data", Option.getOrThrow(o.data), recorded.patchFile))
    if (differs(o.trainSize, recorded.trainSize ?? -1)) {
      return yield* Effect.fail(
        resumeConflictError(
          point,
          "--train-size",
          String(Option.getOrThrow(o.trainSize)),
          recorded.trainSize === null ? "all patches" : String(recorded.trainSize)
        )
      )
    }
    return yield* continueRun(point, o.epochs, () =>
      Effect.map(loadPatches(recorded.patchFile, recorded.trainSize), ({ splits }) => splits)
    )
  })

const train = Command.make("train", trainOptions, (o) =>
  Effect.gen(function* () {
    yield* atLeast("--epochs", o.epochs, 1, "give a whole number of epochs, 1 or more")
    yield* atLeast("--train-size", o.trainSize, 1, "give a number of training patches, 1 or more")
    return Option.isSome(o.resume) ? yield* resumePatchRun(o, o.resume.value) : yield* freshPatchRun(o)
  })
).pipe(
  Command.withDescription(
    "train a variant on a patch file with the paper's patch settings and write a run folder; --resume DIR continues a stopped run"
  )
)

export const patchesCommand = Command.make("patches").pipe(Command.withSubcommands([build, train]))
