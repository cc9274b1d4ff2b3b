/**
 * Natural-image patches: build the data set from folders of photos, then train a variant on it
 * with the paper's patch settings and write the usual run folder (docs/patches.md).
 *   npx tsx experiments/patches.ts build --images DIR [--test-images DIR] --out FILE
 *   npx tsx experiments/patches.ts train --data FILE --model vdl [--epochs N] [--out DIR]
 *   npx tsx experiments/patches.ts build --help
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { writeFileAtomic } from "../data/atomic-write.js"
import { BackendLive } from "../pipeline/backend.js"
import { dataSummary } from "../pipeline/dataset.js"
import { buildPatchFile, scaleFloorModes } from "../pipeline/patches/build.js"
import { loadPatchSplits } from "../pipeline/patches/datasets.js"
import { badImagesPolicies } from "../pipeline/patches/unreadable-photos.js"
import { trainRun } from "../pipeline/run/run.js"
import { backendOption, choiceOption, defaultRunFolder, modelOption, outOption, seedOption, settingsFromOptions, settingsOptions } from "./options.js"

/** Repeated options and comma lists both name several folders. */
const folders = (values: readonly string[]): string[] =>
  values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "")

const count = (name: string, what: string, fallback: number) =>
  Options.integer(name).pipe(Options.withDescription(`${what} (default ${fallback.toLocaleString("en")})`), Options.withDefault(fallback))

const build = Command.make(
  "build",
  {
    images: Options.text("images").pipe(
      Options.repeated,
      Options.withDescription("folder of JPEG/PNG photos for train and validation patches; repeat it or give a comma list for several")
    ),
    testImages: Options.text("test-images").pipe(
      Options.repeated,
      Options.withDescription("folder(s) of photos for test patches, none of which may also be in --images; default: a seeded share of the --images photos is held out whole")
    ),
    out: Options.text("out").pipe(Options.withDescription("the Arrow file to write; it appears only when complete (a build report goes beside it as FILE.json)")),
    train: count("train", "training patches", 200_000),
    val: count("val", "validation patches", 20_000),
    test: count("test", "test patches", 20_000),
    seed: seedOption,
    badImages: choiceOption("bad-images", badImagesPolicies).pipe(
      Options.withDescription("a photo that cannot be read or decoded: error (default: stop, naming it) or skip (leave it out; each is named in a warning and listed, with the reason, in the build report)"),
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
      const report = yield* buildPatchFile({
        images: folders(o.images),
        testImages: folders(o.testImages),
        out: o.out,
        sizes: { train: o.train, val: o.val, test: o.test },
        seed: o.seed,
        badImages: o.badImages,
        scaleFloor: o.scaleFloor
      })
      yield* writeFileAtomic(`${o.out}.json`, JSON.stringify({ ...report, seed: o.seed, images: { ...report.images, folders: folders(o.images), testFolders: folders(o.testImages) } }, null, 2) + "\n")
    })
).pipe(Command.withDescription("build an Arrow file of LCN patches (patch, local mean, local scale, source photo, crop corner, split) from folders of photos"))

const train = Command.make(
  "train",
  {
    data: Options.file("data").pipe(Options.withDescription("patch file written by `build`")),
    model: modelOption,
    epochs: Options.integer("epochs").pipe(Options.withDescription("training epochs (default: the preset's, 100 for patches)"), Options.optional),
    trainSize: Options.integer("train-size").pipe(Options.withDescription("use only the first N training patches"), Options.optional),
    out: outOption,
    seed: seedOption,
    backend: backendOption,
    ...settingsOptions("patches")
  },
  (o) =>
    Effect.gen(function* () {
      const settings = yield* settingsFromOptions(o.model, "patches", o)
      const epochs = Option.getOrElse(o.epochs, () => settings.epochs)
      const { file, splits } = yield* loadPatchSplits(o.data, Option.getOrUndefined(o.trainSize))
      yield* Effect.logInfo(`data: ${o.data} (${file.size}×${file.size} LCN patches)`)
      yield* dataSummary(splits)
      const out = Option.getOrElse(o.out, () => defaultRunFolder(`patches-${o.model}`))
      return yield* trainRun(
        {
          model: o.model,
          settings: { ...settings, epochs },
          epochs,
          seed: o.seed,
          out,
          describe: {
            source: `patch file ${o.data}`,
            patchFile: o.data,
            trainSize: Option.getOrNull(o.trainSize),
            build: file.metadata,
            psnr: "pixel space: each patch and reconstruction mapped back with its stored local mean μ and scale s, pixels = (x·s + μ)·0.259 + 0.457"
          }
        },
        splits
      ).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
    })
).pipe(Command.withDescription("train a variant on a patch file with the paper's patch settings and write a run folder"))

export const patchesCommand = Command.make("patches").pipe(
  Command.withDescription("build a patch data set from photos, or train on one"),
  Command.withSubcommands([build, train])
)
