import * as tf from "@tensorflow/tfjs-core"
import { Effect, Stream } from "effect"
import type { Rng } from "../../data/random.js"
import {
  addTotals,
  averageTotals,
  type BatchTotals,
  emptyTotals,
  evaluateBatch,
  modelParameters,
  type SparseCodingModel,
  type SplitMetrics,
  trainStep
} from "../../models/model.js"
import { type Batch, batchCount, batchStream, type Dataset } from "../sources/dataset.js"
import type { PixelSpace } from "../../models/metrics.js"
import { DivergenceError } from "../errors.js"
import { Progress } from "./progress.js"
import { withBatchTensor } from "../backend/resources.js"

/** A batch's way back to pixels, with the data set's one scale where it has one. */
const pixelSpace = (ds: Dataset, indices: Int32Array): PixelSpace => ({
  toPixels: (p) => ds.toPixels(p, indices),
  ...(ds.pixelScale === undefined ? {} : { scale: ds.pixelScale })
})

export interface EpochResult {
  readonly metrics: SplitMetrics
  readonly seconds: number
  readonly batches: number
  readonly samplesPerSecond: number
}

/** How far an epoch has got: what a run records to continue it after a stop. */
export interface EpochCursor {
  readonly epoch: number
  /** Batches done. */
  readonly batch: number
  /** Sums over those batches. */
  readonly totals: BatchTotals
  /** Training time spent on them. */
  readonly seconds: number
}

/** One batch's own training step: its sums and the wall time of the step alone. */
export interface BatchStep {
  readonly totals: BatchTotals
  readonly seconds: number
}

export interface EpochOptions<E = never, R = never> {
  /** Continue a stopped epoch: skip the batches it did and start from their sums. */
  readonly from?: Omit<EpochCursor, "epoch">
  /** Stop after this many batches of this call, before the end of the epoch if need be. */
  readonly batches?: number
  /** Called after each batch, inside the same uninterruptible step as the batch itself. */
  readonly onBatch?: (cursor: EpochCursor, step: BatchStep) => Effect.Effect<void, E, R>
}

const holdsNonFinite = (v: tf.Tensor): boolean =>
  tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(v))).dataSync()[0] !== 0)

/**
 * The first weight holding a NaN or an infinity, by its checkpoint name. It runs after every
 * batch, so it reads one sum per weight (a NaN or an infinity makes the sum non-finite) and looks
 * element by element only at a weight whose sum is not finite, where finite values too large to
 * add up could be the cause. The optimizers' states, as large again or twice, are checked where
 * they are written to a file (the loop's snapshots): a broken state breaks the weights it updates
 * within the same step, so between files the weights alone tell.
 */
const firstNonFiniteTensor = (m: SparseCodingModel): string | null => {
  const entries = Object.entries(modelParameters(m))
  const sums = tf.tidy(() => tf.stack(entries.map(([, v]) => tf.sum(v))).dataSync())
  const bad = entries.find(([, v], i) => !Number.isFinite(sums[i]) && holdsNonFinite(v))
  return bad === undefined ? null : bad[0]
}

/**
 * The codes first: a NaN there spreads to everything after it, and naming the first term that
 * went wrong is what helps. The weights are checked after the update, so a step that produced
 * finite figures from good weights but broke them is caught before it is saved.
 */
const divergedTerm = (t: BatchTotals, m: SparseCodingModel): string | null => {
  if (t.nonFiniteCodes > 0) return `the FISTA codes (${t.nonFiniteCodes} entries)`
  if (!Number.isFinite(t.energy)) return "the energy of the FISTA codes"
  if (!Number.isFinite(t.psnr)) return "the reconstruction of the batch"
  const tensor = firstNonFiniteTensor(m)
  return tensor === null ? null : `the model tensor ${tensor} after the update`
}

/**
 * One turn of Node's event loop. A batch is synchronous work, and Effect yields to its scheduler
 * through microtasks, in which signal handlers never run: without a turn between batches, Ctrl-C
 * would wait for the end of the epoch.
 */
const turnEventLoop = Effect.async<void>((resume) => {
  const id = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(id))
})

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x))

/**
 * One pass over the training set in a fresh seeded order: the training stage of a run. Each
 * batch — the step, the check for divergence, the sums and onBatch — is uninterruptible, so an
 * interruption (Ctrl-C) takes effect between batches and the cursor always matches the weights.
 */
export const trainEpoch = <E = never, R = never>(
  model: SparseCodingModel,
  ds: Dataset,
  epoch: number,
  rng: Rng,
  options: EpochOptions<E, R> = {}
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const progress = yield* Progress
      const total = batchCount(ds, model.settings.batchSize, true)
      const bar = yield* progress.bar(`epoch ${epoch + 1}`, total)
      const from = options.from ?? { batch: 0, totals: emptyTotals, seconds: 0 }
      const started = performance.now() - from.seconds * 1000
      let cursor: EpochCursor = { epoch, ...from }
      const step = (batch: Batch) =>
        Effect.gen(function* () {
          // The step alone is timed, without the batch's upload: the region a reference implementation times.
          const { t, stepSeconds } = yield* withBatchTensor(batch.x, batch.rows, ds.dim, (x) => {
            const stepStarted = performance.now()
            const t = trainStep(model, x, epoch, pixelSpace(ds, batch.indices))
            return { t, stepSeconds: (performance.now() - stepStarted) / 1000 }
          })
          const term = divergedTerm(t, model)
          if (term !== null) return yield* Effect.fail(new DivergenceError({ epoch, batch: cursor.batch, term }))
          const totals = addTotals(cursor.totals, t)
          const seconds = (performance.now() - started) / 1000
          cursor = { epoch, batch: cursor.batch + 1, totals, seconds }
          const avg = averageTotals(totals)
          yield* bar.update(
            cursor.batch,
            `energy ${fmt(avg.energy)} psnr ${fmt(avg.psnr, 2)} zeros ${fmt(avg.zeroFraction)} fista steps ${fmt(t.fistaSteps / t.rows, 1)} ${fmt(totals.rows / seconds, 0)} rows/s`
          )
          if (options.onBatch !== undefined) yield* options.onBatch(cursor, { totals: t, seconds: stepSeconds })
        }).pipe(Effect.uninterruptible, Effect.zipRight(turnEventLoop))
      // The permutation is drawn in full even when resuming, so the generator ends where it would have.
      const batches = batchStream(ds, model.settings.batchSize, { kind: "shuffled", rng }, { reuse: true }).pipe(
        Stream.drop(from.batch)
      )
      yield* (options.batches === undefined ? batches : Stream.take(batches, options.batches)).pipe(
        Stream.runForEach(step)
      )
      const seconds = (performance.now() - started) / 1000
      return {
        metrics: averageTotals(cursor.totals),
        seconds,
        batches: cursor.batch,
        samplesPerSecond: cursor.totals.rows / seconds
      } satisfies EpochResult
    })
  )

/** Amortised figures on a data set with the encoder's codes: the evaluation stage. */
export const evaluate = (model: SparseCodingModel, ds: Dataset) =>
  batchStream(ds, model.settings.batchSize, { kind: "sequential" }).pipe(
    Stream.mapEffect((batch) =>
      withBatchTensor(batch.x, batch.rows, ds.dim, (x) => evaluateBatch(model, x, pixelSpace(ds, batch.indices)))
    ),
    Stream.runFold(emptyTotals, addTotals),
    Effect.map(averageTotals)
  )
