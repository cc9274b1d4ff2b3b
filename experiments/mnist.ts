/**
 * Train one variant on MNIST and write a run folder (summary, per-epoch metrics, pictures, the
 * best epoch's checkpoint). With no option: VDL on the embedded 10,000 digits for a few minutes.
 *   npx tsx experiments/mnist.ts --help
 */
import { Command, Options } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import { BackendLive } from "../src/pipeline/backend.js"
import { resolveSettings } from "../src/pipeline/config.js"
import { dataSummary, loadMnist, mapSplits, type MnistSource, normalizeMnistStage, splitStage } from "../src/pipeline/dataset.js"
import { runMain } from "../src/pipeline/main.js"
import { trainRun } from "../src/pipeline/run.js"
import { backendOption, defaultRunFolder, modelOption, outOption, overridesFrom, seedOption, settingsOptions } from "./options.js"

const EMBEDDED_EPOCHS = 20

const options = {
  model: modelOption,
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(`training epochs (default ${EMBEDDED_EPOCHS} on the embedded digits, the paper's 200 on a data folder)`),
    Options.optional
  ),
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription("folder with the four MNIST IDX files (.gz or raw) and optionally validation-indices.txt; default: the 10,000 digits embedded in the npm package mnist"),
    Options.optional
  ),
  download: Options.boolean("download").pipe(Options.withDescription("download full MNIST (checksum-verified, cached in ~/.cache/sparse-vdl) instead of the embedded digits")),
  trainSize: Options.integer("train-size").pipe(Options.withDescription("use only the first N training images after the split"), Options.optional),
  out: outOption,
  seed: seedOption,
  backend: backendOption,
  ...settingsOptions("mnist")
}

const command = Command.make("mnist", options, (o) =>
  Effect.gen(function* () {
    const source: MnistSource = Option.isSome(o.mnistDir)
      ? { kind: "dir", dir: o.mnistDir.value }
      : o.download
        ? { kind: "download" }
        : { kind: "embedded" }
    const overrides = overridesFrom(o)
    const settings = yield* resolveSettings(o.model, "mnist", overrides)
    const epochs = Option.getOrElse(o.epochs, () => (source.kind === "embedded" ? EMBEDDED_EPOCHS : settings.epochs))
    const data = yield* loadMnist(source)
    const splits = mapSplits(splitStage(o.seed, Option.getOrUndefined(o.trainSize))(data), (s, name) => normalizeMnistStage(name)(s))
    yield* Effect.logInfo(`data: ${data.source}`)
    yield* dataSummary(splits)
    const out = Option.getOrElse(o.out, () => defaultRunFolder(o.model))
    return yield* trainRun({ model: o.model, settings: { ...settings, epochs }, epochs, seed: o.seed, out, describe: { source: data.source, mnist: source, trainSize: Option.getOrNull(o.trainSize) } }, splits).pipe(
      Effect.provide(BackendLive(Option.getOrUndefined(o.backend)))
    )
  })
)

const cli = Command.run(command, { name: "mnist", version: "0.1.0" })

runMain(cli(process.argv))
