import { Effect } from "effect"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { linePlotSvg } from "../../data/plot.js"
import type { SplitMetrics } from "../../models/model.js"
import { Backend } from "../backend/backend.js"
import { restoreSnapshot } from "./checkpoint.js"
import { evaluate } from "./epoch.js"
import { writePictures } from "./figures.js"
import { bestCheckpointFile, lastCheckpointFile, metricsCsvFile, metricsFile } from "./layout.js"
import { type LoopData, type LoopOptions, trainingLoop } from "./loop.js"
import { trainMetricsOf } from "./metrics-table.js"

/** A run stops at the end of its epochs, never after a number of batches: its summary describes a finished run. */
export interface RunOptions<E = never, R = never> extends Omit<LoopOptions<E, R>, "batchLimit"> {
  /** The run folder; created if missing. */
  readonly out: string
}

export interface RunSummary {
  readonly model: string
  readonly backend: string
  readonly epochs: number
  readonly secondsPerEpoch: number
  readonly bestEpoch: number
  readonly val: SplitMetrics
  /** Null for a run given no test split. */
  readonly test: SplitMetrics | null
  readonly meanFistaSteps: number
  readonly [key: string]: unknown
}

const fmt = (x: number, digits = 3) => x.toFixed(digits)

/**
 * A whole training run: the training loop with its checkpoints in `out`, then the best epoch
 * (lowest validation energy) evaluated on the validation and test sets, its pictures, the PSNR
 * curves and summary.json. An interruption after the last epoch leaves the run to be resumed,
 * which then only writes these final files.
 */
export const trainRun = <E = never, R = never>(options: RunOptions<E, R>, data: LoopData) =>
  Effect.scoped(
    Effect.gen(function* () {
      const backend = yield* Backend
      const { out, settings } = options
      const { model, rows, best, trainSeconds } = yield* trainingLoop(options, data)
      const bestPath = join(out, bestCheckpointFile)
      const lastPath = join(out, lastCheckpointFile)
      const final = Effect.gen(function* () {
        if (best === null) return yield* Effect.dieMessage("trainRun needs at least one epoch")
        yield* restoreSnapshot(model, best.snapshot, bestPath)
        const val = yield* evaluate(model, data.val)
        const test = data.test === undefined ? null : yield* evaluate(model, data.test)
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
        const train = trainMetricsOf(rows[rows.length - 1])
        const summary: RunSummary = {
          model: options.model,
          backend: backend.name,
          epochs: options.epochs,
          secondsPerEpoch: trainSeconds / options.epochs,
          bestEpoch: best.epoch + 1,
          val,
          test,
          meanFistaSteps: train.meanFistaSteps,
          train,
          codeUsage: {
            unusedComponents: stats.usage.filter((u) => u === 0).length,
            meanUsage: stats.usage.reduce((a, b) => a + b, 0) / stats.usage.length
          },
          atomShapes: stats.atomShapes,
          seed: options.seed,
          settings,
          data: { train: data.train.rows, val: data.val.rows, test: data.test?.rows ?? 0, ...options.describe },
          files: [
            "summary.json",
            metricsFile,
            metricsCsvFile,
            bestCheckpointFile,
            lastCheckpointFile,
            "decoder-columns.png",
            ...(stats.atomsPicture ? ["decoder-atoms.png"] : []),
            "atoms.arrow",
            "atoms.csv",
            "reconstructions.png",
            "psnr.svg",
            "columns/"
          ]
        }
        yield* writeFileAtomic(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n")
        yield* Effect.logInfo(
          `best epoch ${best.epoch + 1}: val psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)} energy ${fmt(val.energy)}${test === null ? "" : ` | test psnr ${fmt(test.psnr, 2)} zeros ${fmt(test.zeroFraction)}`} | wrote ${out}`
        )
        return summary
      })
      // The loop has saved the finished run: only the summary is missing, and a resume writes it.
      return yield* final.pipe(
        Effect.onInterrupt(() =>
          Effect.logWarning(
            `interrupted after the last epoch (${options.epochs}), before the summary was written; saved ${lastPath}; resume with --resume ${out}`
          )
        )
      )
    })
  )
