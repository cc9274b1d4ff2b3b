import { Effect, Stream } from "effect"
import type { Rng } from "../data/random.js"
import {
  addTotals,
  averageTotals,
  type BatchTotals,
  emptyTotals,
  evaluateBatch,
  type SparseCodingModel,
  type SplitMetrics,
  trainStep
} from "../models/model.js"
import { batchCount, batchStream, type Dataset } from "./dataset.js"
import { DivergenceError } from "./errors.js"
import { Progress } from "./progress.js"
import { withBatchTensor } from "./resources.js"

export interface EpochResult {
  readonly metrics: SplitMetrics
  readonly seconds: number
  readonly batches: number
  readonly samplesPerSecond: number
}

const checkFinite = (t: BatchTotals, epoch: number, batch: number) =>
  !Number.isFinite(t.energy)
    ? Effect.fail(new DivergenceError({ epoch, batch, term: "the energy of the FISTA codes" }))
    : !Number.isFinite(t.psnr)
      ? Effect.fail(new DivergenceError({ epoch, batch, term: "the reconstruction of the batch" }))
      : Effect.succeed(t)

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x))

/** One pass over the training set in a fresh seeded order: the training stage of a run. */
export const trainEpoch = (model: SparseCodingModel, ds: Dataset, epoch: number, rng: Rng) =>
  Effect.scoped(
    Effect.gen(function* () {
      const progress = yield* Progress
      const total = batchCount(ds, model.settings.batchSize, true)
      const bar = yield* progress.bar(`epoch ${epoch + 1}`, total)
      const started = performance.now()
      let batches = 0
      const totals = yield* batchStream(ds, model.settings.batchSize, { kind: "shuffled", rng }).pipe(
        Stream.mapEffect((batch) =>
          withBatchTensor(batch.x, batch.rows, ds.dim, (x) =>
            trainStep(model, x, epoch, (t) => ds.toPixels(t, batch.indices))
          ).pipe(Effect.flatMap((t) => checkFinite(t, epoch, batches)))
        ),
        Stream.runFoldEffect(emptyTotals, (acc, t) => {
          batches += 1
          const sum = addTotals(acc, t)
          const avg = averageTotals(sum)
          const seconds = (performance.now() - started) / 1000
          return bar
            .update(
              batches,
              `energy ${fmt(avg.energy)} psnr ${fmt(avg.psnr, 2)} zeros ${fmt(avg.zeroFraction)} fista steps ${fmt(t.fistaSteps / t.rows, 1)} ${fmt(sum.rows / seconds, 0)} rows/s`
            )
            .pipe(Effect.as(sum))
        })
      )
      const seconds = (performance.now() - started) / 1000
      return { metrics: averageTotals(totals), seconds, batches, samplesPerSecond: totals.rows / seconds } satisfies EpochResult
    })
  )

/** Amortised figures on a data set with the encoder's codes (SPEC §3): the evaluation stage. */
export const evaluate = (model: SparseCodingModel, ds: Dataset) =>
  batchStream(ds, model.settings.batchSize, { kind: "sequential" }).pipe(
    Stream.mapEffect((batch) =>
      withBatchTensor(batch.x, batch.rows, ds.dim, (x) => evaluateBatch(model, x, (t) => ds.toPixels(t, batch.indices)))
    ),
    Stream.runFold(emptyTotals, addTotals),
    Effect.map(averageTotals)
  )
