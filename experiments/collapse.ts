/**
 * The collapse that the regularisers prevent, measured: per epoch, the mean ℓ1 norm of the codes
 * and the mean norm of the decoder's atoms (the columns of A the codes multiply), for each model,
 * with the usual training and evaluation stages. Without a regulariser ("noreg") the codes
 * collapse and the atoms that still carry the reconstruction grow; VDL's variance hinge keeps the
 * codes up, while its unconstrained decoder grows more slowly (numbers of the default run in
 * docs/collapse.md).
 *   npx tsx experiments/collapse.ts [--model noreg,vdl] [--epochs 10] [--train-size N] [--out DIR]
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option, Stream } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../src/data/atomic-write.js"
import { linePlotSvg } from "../src/data/plot.js"
import { type Row, tableToArrowIpc, tableToCsv, tableToMarkdown } from "../src/data/table.js"
import type { SparseCodingModel, SplitMetrics } from "../src/models/model.js"
import { codeAtomNorms, codeL1Sum, componentUse, mean, usageWeightedMean } from "../src/models/norms.js"
import { BackendLive } from "../src/pipeline/backend.js"
import { batchStream, type Dataset, dataSummary, mapSplits } from "../src/pipeline/dataset.js"
import { ConfigError } from "../src/pipeline/errors.js"
import { batchCodes } from "../src/pipeline/evaluation/codes.js"
import { commandCli, runCli } from "../src/cli/entry.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../src/pipeline/mnist.js"
import { withBatchTensor } from "../src/pipeline/resources.js"
import { trainingLoop } from "../src/pipeline/run/loop.js"
import { evaluate } from "../src/pipeline/train.js"
import { backendOption, defaultRunFolder, seedOption, settingsFromOptions, settingsOptions } from "../src/cli/options.js"
import { variantNames } from "../src/models/variants.js"

/**
 * The norm stage: on a data set, the mean ℓ1 norm of the encoder's codes and of the FISTA codes
 * warm-started from them. The FISTA codes are what the ℓ1 term acts on during training; the
 * encoder's follow them, a step behind.
 */
const codeNorms = (model: SparseCodingModel, ds: Dataset) =>
  batchStream(ds, model.settings.batchSize, { kind: "sequential" }).pipe(
    Stream.mapEffect((batch) =>
      withBatchTensor(batch.x, batch.rows, ds.dim, (x) => {
        const codes = batchCodes(model, x)
        const sums = { encoder: codeL1Sum(codes.encoder), fista: codeL1Sum(codes.fista.codes), use: componentUse(codes.fista.codes, model.decoder.linalg), rows: batch.rows }
        codes.encoder.dispose()
        codes.fista.codes.dispose()
        return sums
      })
    ),
    Stream.runFold({ encoder: 0, fista: 0, use: new Float64Array(model.settings.codeDim), rows: 0 }, (a, b) => {
      b.use.forEach((u, j) => (a.use[j] += u))
      return { encoder: a.encoder + b.encoder, fista: a.fista + b.fista, use: a.use, rows: a.rows + b.rows }
    }),
    Effect.map((t) => ({ encoderL1: t.encoder / t.rows, fistaL1: t.fista / t.rows, use: t.use }))
  )

const options = {
  models: Options.text("model").pipe(
    Options.withDescription(`comma-separated models to compare (default noreg,vdl); any of ${variantNames().join(", ")}`),
    Options.withDefault("noreg,vdl")
  ),
  epochs: Options.integer("epochs").pipe(Options.withDescription("training epochs per model (default 10)"), Options.withDefault(10)),
  trainSize: Options.integer("train-size").pipe(Options.withDescription("use only the first N training images after the split"), Options.optional),
  mnistDir: Options.directory("mnist-dir").pipe(Options.withDescription("folder with the MNIST IDX files; default: the embedded digits"), Options.optional),
  out: Options.text("out").pipe(Options.withDescription("output folder (default runs/collapse-<date>-<time>)"), Options.optional),
  seed: seedOption,
  backend: backendOption,
  ...settingsOptions("mnist")
}

const fmt = (x: number, digits = 3) => x.toFixed(digits)

const command = Command.make("collapse", options, (o) =>
  Effect.gen(function* () {
    const models = o.models.split(",").map((m) => m.trim()).filter((m) => m !== "")
    if (models.length === 0) return yield* Effect.fail(new ConfigError({ option: "--model", problem: "no model given; pass e.g. --model noreg,vdl" }))
    const settings = yield* Effect.forEach(models, (m) => settingsFromOptions(m, "mnist", o))
    if (o.epochs < 1) return yield* Effect.fail(new ConfigError({ option: "--epochs", problem: `${o.epochs} epochs records nothing; pass 1 or more` }))
    const data = yield* loadMnist(Option.isSome(o.mnistDir) ? { kind: "dir", dir: o.mnistDir.value } : { kind: "embedded" })
    const splits = mapSplits(splitStage(o.seed, Option.getOrUndefined(o.trainSize))(data), (s, name) => normalizeMnistStage(name)(s))
    yield* dataSummary(splits)
    const out = Option.getOrElse(o.out, () => defaultRunFolder("collapse"))
    yield* ensureDir(out)
    const rows: Row[] = []
    for (const [k, model] of models.entries()) {
      const record = (m: SparseCodingModel, epoch: number, val: SplitMetrics, trainEnergy: number | null) =>
        Effect.gen(function* () {
          const norms = yield* codeNorms(m, splits.val)
          const atoms = codeAtomNorms(m.decoder)
          const row: Row = {
            model,
            epoch,
            valEncoderCodeL1: norms.encoderL1,
            valFistaCodeL1: norms.fistaL1,
            meanAtomNorm: mean(atoms),
            usedAtomNorm: usageWeightedMean(atoms, norms.use),
            maxAtomNorm: Math.max(...atoms),
            trainEnergy,
            valEnergy: val.energy,
            valPsnr: val.psnr,
            valZeroFraction: val.zeroFraction
          }
          rows.push(row)
          yield* Effect.logInfo(
            `${model} epoch ${epoch}: code ℓ1 ${fmt(norms.fistaL1)} (FISTA) ${fmt(norms.encoderL1)} (encoder) | atom norm ${fmt(mean(atoms))} mean, ${fmt(usageWeightedMean(atoms, norms.use))} weighted by use | ` +
              `val psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)}`
          )
        })
      yield* Effect.scoped(
        trainingLoop(
          {
            model,
            settings: { ...settings[k], epochs: o.epochs },
            epochs: o.epochs,
            seed: o.seed,
            hooks: [
              {
                // Epoch 0 is the initialisation, the point the drift is measured from.
                onStart: ({ model: m }) => evaluate(m, splits.val).pipe(Effect.flatMap((val) => record(m, 0, val, null))),
                onEpoch: (e) => record(e.model, e.epoch + 1, e.val, e.train.energy)
              }
            ]
          },
          splits
        )
      )
    }
    yield* writeFileAtomic(join(out, "collapse.arrow"), tableToArrowIpc(rows))
    yield* writeFileAtomic(join(out, "collapse.csv"), tableToCsv(rows))
    yield* writeFileAtomic(join(out, "collapse.md"), tableToMarkdown(rows, undefined, { digits: 4 }))
    const series = (key: string, label: (m: string) => string) =>
      models.map((model) => {
        // An epoch where no component fires has no use-weighted norm; the plot skips it.
        const mine = rows.filter((r) => r.model === model && Number.isFinite(Number(r[key])))
        return { name: label(model), x: mine.map((r) => Number(r.epoch)), y: mine.map((r) => Number(r[key])) }
      })
    const plots = [
      {
        file: "collapse-code-l1.svg",
        title: "Mean code ℓ1 norm (validation) by epoch",
        yLabel: "mean ‖z‖₁",
        series: [...series("valFistaCodeL1", (m) => `${m} (FISTA)`), ...series("valEncoderCodeL1", (m) => `${m} (encoder)`)]
      },
      {
        file: "collapse-atom-norm.svg",
        title: "Decoder column norms by epoch (in use: weighted by how often each is used)",
        yLabel: "‖A·ⱼ‖₂",
        series: [...series("usedAtomNorm", (m) => `${m} (in use)`), ...series("meanAtomNorm", (m) => `${m} (all)`)]
      }
    ]
    for (const p of plots) {
      const svg = yield* linePlotSvg({ title: p.title, xLabel: "epoch (0: initialisation)", yLabel: p.yLabel, series: p.series })
      yield* writeFileAtomic(join(out, p.file), svg)
    }
    yield* Effect.logInfo(`wrote ${join(out, "collapse.md")}, ${plots.map((p) => join(out, p.file)).join(", ")}`)
  }).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
)

runCli(commandCli(command, "collapse"))
