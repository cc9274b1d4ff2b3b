import { Effect } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../data/atomic-write.js"
import { imageGridPng, pairsGridPng } from "../data/image-grid.js"
import { linePlotSvg } from "../data/plot.js"
import { type Row, tableToArrowIpc, tableToCsv } from "../data/table.js"
import type { SplitMetrics } from "../models/model.js"
import type { ModelSettings } from "../models/settings.js"
import { Backend } from "./backend.js"
import { restoreSnapshot, type Snapshot, snapshotModel, writeCheckpoint } from "./checkpoint.js"
import type { Dataset, Splits } from "./dataset.js"
import { codeStatistics, decoderAtoms, decoderColumns, reconstructionPairs } from "./pictures.js"
import { scopedModel } from "./resources.js"
import { rngFor } from "./seeds.js"
import { evaluate, trainEpoch } from "./train.js"

export interface RunOptions {
  /** The variant's name, recorded in the summary and the checkpoint. */
  readonly model: string
  readonly settings: ModelSettings
  readonly epochs: number
  readonly seed: number
  /** The run folder; created if missing. */
  readonly out: string
  /** Free-form facts about the data and the command, copied into summary.json. */
  readonly describe?: Readonly<Record<string, unknown>>
}

export interface RunSummary {
  readonly model: string
  readonly backend: string
  readonly epochs: number
  readonly secondsPerEpoch: number
  readonly bestEpoch: number
  readonly val: SplitMetrics
  readonly test: SplitMetrics
  readonly meanFistaSteps: number
  readonly [key: string]: unknown
}

const metricColumns = (prefix: string, m: SplitMetrics): Row => ({
  [`${prefix}Energy`]: m.energy,
  [`${prefix}Psnr`]: m.psnr,
  [`${prefix}ZeroFraction`]: m.zeroFraction,
  [`${prefix}HiddenZeroFraction`]: m.hiddenZeroFraction
})

const fmt = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits))

const tileCount = (n: number) => Math.ceil(Math.sqrt(n))

/** The pictures of SPEC §7 for a trained model, as PNG files in the run folder. */
export const writePictures = (out: string, m: Parameters<typeof decoderColumns>[0], ds: Dataset) =>
  Effect.gen(function* () {
    const grid = { height: ds.height, width: ds.width, scaling: "per-image-symmetric" as const, zoom: 2 }
    const columns = decoderColumns(m)
    yield* writeFileAtomic(join(out, "decoder-columns.png"), imageGridPng(columns.images, { ...grid, count: columns.count, columns: tileCount(columns.count) }))
    const stats = yield* codeStatistics(m, ds)
    if (m.decoder.layers.length > 1) {
      const atoms = decoderAtoms(m, stats.max)
      yield* writeFileAtomic(join(out, "decoder-atoms.png"), imageGridPng(atoms, { ...grid, count: m.settings.codeDim, columns: tileCount(m.settings.codeDim) }))
    }
    const pairs = yield* reconstructionPairs(m, ds, 32)
    yield* writeFileAtomic(
      join(out, "reconstructions.png"),
      pairsGridPng(pairs.inputs, pairs.reconstructions, { height: ds.height, width: ds.width, count: pairs.count, columns: 4, scaling: "range", range: [0, 1], zoom: 2 })
    )
    return stats
  })

/**
 * A training run as a composition of stages: per epoch, the training stage and the validation
 * stage; the epoch with the lowest validation energy (encoder codes) is kept as a checkpoint and
 * is the one evaluated on the test set at the end. Every file is written atomically, each epoch,
 * so a stopped run leaves a readable folder.
 */
export const trainRun = (options: RunOptions, data: Splits<Dataset>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const backend = yield* Backend
      const { out, settings } = options
      yield* ensureDir(out)
      const model = yield* scopedModel(settings, data.train.dim, rngFor(options.seed, "init"))
      const order = rngFor(options.seed, "order")
      const rows: Row[] = []
      let best: { epoch: number; energy: number; snapshot: Snapshot } | null = null
      let trainSeconds = 0
      let lastTrain: SplitMetrics | null = null
      const checkpointPath = join(out, "checkpoint.safetensors")
      for (let epoch = 0; epoch < options.epochs; epoch++) {
        const trained = yield* trainEpoch(model, data.train, epoch, order)
        const val = yield* evaluate(model, data.val)
        trainSeconds += trained.seconds
        lastTrain = trained.metrics
        rows.push({
          epoch: epoch + 1,
          seconds: trained.seconds,
          samplesPerSecond: trained.samplesPerSecond,
          meanFistaSteps: trained.metrics.meanFistaSteps,
          ...metricColumns("train", trained.metrics),
          ...metricColumns("val", val)
        })
        yield* writeFileAtomic(join(out, "metrics.arrow"), tableToArrowIpc(rows))
        yield* writeFileAtomic(join(out, "metrics.csv"), tableToCsv(rows))
        const improved = best === null || val.energy < best.energy
        if (improved) {
          best = { epoch, energy: val.energy, snapshot: snapshotModel(model, options.model, epoch) }
          yield* writeCheckpoint(checkpointPath, best.snapshot)
        }
        yield* Effect.logInfo(
          `epoch ${epoch + 1}/${options.epochs} ${trained.seconds.toFixed(1)} s (${trained.samplesPerSecond.toFixed(0)} rows/s) | ` +
            `train energy ${fmt(trained.metrics.energy)} psnr ${fmt(trained.metrics.psnr, 2)} zeros ${fmt(trained.metrics.zeroFraction)} fista steps ${fmt(trained.metrics.meanFistaSteps, 1)} | ` +
            `val energy ${fmt(val.energy)} psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)}${val.hiddenZeroFraction === null ? "" : ` hidden zeros ${fmt(val.hiddenZeroFraction)}`}${improved ? " *" : ""}`
        )
      }
      if (best === null) return yield* Effect.dieMessage("trainRun needs at least one epoch")
      yield* restoreSnapshot(model, best.snapshot, checkpointPath)
      const val = yield* evaluate(model, data.val)
      const test = yield* evaluate(model, data.test)
      const stats = yield* writePictures(out, model, data.val)
      const curves = (key: string) => rows.map((r) => Number(r[key]))
      const epochsAxis = curves("epoch")
      const svg = yield* linePlotSvg({
        title: `${options.model}: validation PSNR (dB) by epoch`,
        xLabel: "epoch",
        yLabel: "PSNR (dB)",
        series: [
          { name: "train (FISTA codes)", x: epochsAxis, y: curves("trainPsnr") },
          { name: "validation (encoder codes)", x: epochsAxis, y: curves("valPsnr") }
        ]
      }).pipe(Effect.orElseSucceed(() => null))
      if (svg !== null) yield* writeFileAtomic(join(out, "psnr.svg"), svg)
      const summary: RunSummary = {
        model: options.model,
        backend: backend.name,
        epochs: options.epochs,
        secondsPerEpoch: trainSeconds / options.epochs,
        bestEpoch: best.epoch + 1,
        val,
        test,
        meanFistaSteps: lastTrain?.meanFistaSteps ?? 0,
        train: lastTrain,
        codeUsage: { unusedComponents: stats.usage.filter((u) => u === 0).length, meanUsage: stats.usage.reduce((a, b) => a + b, 0) / stats.usage.length },
        seed: options.seed,
        settings,
        data: { train: data.train.rows, val: data.val.rows, test: data.test.rows, ...options.describe },
        files: ["summary.json", "metrics.arrow", "metrics.csv", "checkpoint.safetensors", "decoder-columns.png", ...(model.decoder.layers.length > 1 ? ["decoder-atoms.png"] : []), "reconstructions.png", "psnr.svg"]
      }
      yield* writeFileAtomic(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n")
      yield* Effect.logInfo(
        `best epoch ${best.epoch + 1}: val psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)} energy ${fmt(val.energy)} | test psnr ${fmt(test.psnr, 2)} zeros ${fmt(test.zeroFraction)} | wrote ${out}`
      )
      return summary
    })
  )
