import { Effect } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import type { Row } from "../../data/table.js"
import { type BatchTotals, emptyTotals, type SparseCodingModel, type SplitMetrics } from "../../models/model.js"
import type { ModelSettings } from "../../models/settings.js"
import { columnShapeFigures, picturedEpoch } from "../report/atom-report.js"
import { Backend } from "../backend/backend.js"
import { encodeSnapshot, nonFiniteTensorOf, type RunProgress, snapshotModel } from "./checkpoint.js"
import { batchCount, type Dataset, inputSpaceOf } from "../sources/dataset.js"
import { batchProblem, firstInputError, widthProblem } from "../sources/checks.js"
import { DivergenceError } from "../errors.js"
import { decoderColumns } from "../report/pictures.js"
import type { Composition } from "../../models/composition.js"
import { decoderFits, scopedModel } from "../backend/resources.js"
import { rngFor } from "./seeds.js"
import { evaluate, trainEpoch } from "./epoch.js"
import { atomGrid } from "./figures.js"
import { claimRunFolder } from "./folder.js"
import { bestCheckpointFile, columnsSnapshotFile, lastCheckpointFile } from "./layout.js"
import { isBuiltInColumn, metricColumns, writeMetrics } from "./metrics-table.js"
import { type Best, type Position, type RestoredRun, type ResumePoint, resumeState } from "./resume.js"

/** Figures a hook adds to an epoch's row of metrics.arrow, by column name (a boolean makes a Bool column). */
export type EpochColumns = Readonly<Record<string, number | boolean | null>>

/** What onStart sees: the model, about to be trained, and the run so far. */
export interface LoopStart {
  readonly model: SparseCodingModel
  /** The epoch the loop starts in, 0-based: 0, or where a resumed run stopped. */
  readonly epoch: number
  /** The rows of the epochs already finished (those of a resumed run). */
  readonly rows: ReadonlyArray<Row>
}

/** What onBatch sees after each training batch. */
export interface BatchEvent {
  readonly model: SparseCodingModel
  /** 0-based. */
  readonly epoch: number
  /** Batches of this epoch done, this one included. */
  readonly batch: number
  /** Batches in a whole epoch. */
  readonly batches: number
  /** This batch's sums (averageTotals turns sums into figures). */
  readonly totals: BatchTotals
  /** Sums over the epoch's batches so far. */
  readonly epochTotals: BatchTotals
  /** Training time of the epoch so far. */
  readonly seconds: number
  /** Wall time of this batch's training step alone. */
  readonly stepSeconds: number
}

/** What onEpoch sees after each epoch's validation, before its row and checkpoints are written. */
export interface EpochEvent {
  readonly model: SparseCodingModel
  /** 0-based. */
  readonly epoch: number
  /** The epoch's figures over its batches, with the FISTA codes. */
  readonly train: SplitMetrics
  /** The figures on the validation set, with the encoder's codes. */
  readonly val: SplitMetrics
  /** This epoch's row of metrics.arrow as the loop writes it. */
  readonly row: Row
  /** The rows of the epochs before this one, with the columns hooks added. */
  readonly rows: ReadonlyArray<Row>
}

/**
 * What a researcher adds to the loop. onEpoch may return columns for the epoch's row of
 * metrics.arrow. onBatch only observes: it runs inside the batch's uninterruptible step, and a
 * per-batch figure needs its own rule to become one number per epoch (a mean, a last value, a
 * maximum), which the hook knows and the loop does not; it keeps what it needs and onEpoch
 * returns it. A hook's own state is not in the checkpoint: for a resume to give the same
 * columns, onEpoch should compute them from the model and the figures it is given.
 */
export interface TrainingHooks<E = never, R = never> {
  readonly onStart?: (start: LoopStart) => Effect.Effect<void, E, R>
  readonly onBatch?: (batch: BatchEvent) => Effect.Effect<void, E, R>
  readonly onEpoch?: (epoch: EpochEvent) => Effect.Effect<EpochColumns | void, E, R>
}

/** The splits the loop reads: it trains on train and validates on val; test only counts towards the resume check. */
export interface LoopData {
  readonly train: Dataset
  readonly val: Dataset
  readonly test?: Dataset
}

export interface LoopOptions<E = never, R = never> {
  /** The variant's name, recorded in the checkpoints. */
  readonly model: string
  readonly settings: ModelSettings
  /** The total number of epochs, counting those a resumed run has already done. */
  readonly epochs: number
  readonly seed: number
  /** The run folder for metrics.arrow/csv, the columns/ grids and the checkpoints; none: nothing is written. */
  readonly out?: string
  /** Free-form facts about the data and the command, copied into the checkpoints. */
  readonly describe?: Readonly<Record<string, unknown>>
  /** Continue the run whose state this is (from readResumePoint) instead of starting afresh. */
  readonly resume?: ResumePoint
  /**
   * Start afresh in `out` even if it holds another run (other settings, seed, data or epochs),
   * replacing it. Without it such a folder is refused (RunFolderTakenError); the same run asked
   * for again starts again either way.
   */
  readonly overwrite?: boolean
  /**
   * Stop after this many training batches, mid-epoch if need be (benchmarks). That epoch is not
   * validated and has no row; with a run folder its batch is saved, so a resume continues it.
   */
  readonly batchLimit?: number
  readonly hooks?: ReadonlyArray<TrainingHooks<E, R>>
  /**
   * What the model is made of, when not what the settings name (a term of one's own, another
   * update chain). Checkpoints record its pieces' names; a resume or a load must build the same.
   */
  readonly composition?: Composition
}

export interface LoopResult {
  /** The model after the last batch, released with the caller's scope. */
  readonly model: SparseCodingModel
  /** One row per finished epoch, the hooks' columns included. */
  readonly rows: ReadonlyArray<Row>
  /** The hooks' columns, in the order of the table. */
  readonly extraColumns: ReadonlyArray<string>
  readonly best: Best | null
  /** Training time over all finished epochs. */
  readonly trainSeconds: number
  /** Where the loop stopped: the epoch in progress and its batches done (0 after a whole epoch). */
  readonly next: { readonly epoch: number; readonly batch: number }
}

const fmt = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits))

/** A hook's columns, refused where they would overwrite a column of the run or of another hook. */
const mergeColumns = (row: Row, columns: EpochColumns) =>
  Effect.gen(function* () {
    for (const [name, value] of Object.entries(columns)) {
      if (isBuiltInColumn(name) || name in row)
        return yield* Effect.dieMessage(
          `a training hook returned the column ${name}, which the run or another hook writes already; give it another name`
        )
      row[name] = value
    }
  })

/**
 * The training loop: it makes the model (released with the caller's scope), and per epoch trains
 * on the training set in a fresh seeded order (one order generator for the whole run, continued by
 * a resume), validates, and calls the hooks. The epoch with the lowest validation energy (encoder
 * codes) is the best one. With a run folder every file is written atomically each epoch, so a
 * stopped run leaves a readable folder; last.safetensors holds where the run stands.
 *
 * Interruption (Ctrl-C) takes effect between batches: the loop then saves its state at that batch
 * to last.safetensors, and `resume` continues from there with the same results as a run that was
 * never stopped. A divergence (NaN or infinity) fails the loop and writes nothing more.
 */
export const trainingLoop = <E = never, R = never>(options: LoopOptions<E, R>, data: LoopData) =>
  Effect.gen(function* () {
    const backend = yield* Backend
    const { out, settings } = options
    const hooks = options.hooks ?? []
    const refused = firstInputError("training", [
      widthProblem([
        ["training", data.train],
        ["validation", data.val],
        ["test", data.test]
      ]),
      batchProblem(data.train.rows, settings.batchSize, "training")
    ])
    if (refused !== null) return yield* Effect.fail(refused)
    if (out !== undefined && options.resume === undefined) {
      yield* claimRunFolder(
        out,
        {
          model: options.model,
          seed: options.seed,
          epochs: options.epochs,
          settings,
          describe: options.describe ?? {}
        },
        options.overwrite === true
      )
    }
    if (out !== undefined) yield* ensureDir(out)
    yield* decoderFits(settings, data.train.dim, { height: data.train.height, width: data.train.width })
    const model = yield* scopedModel(settings, data.train.dim, rngFor(options.seed, "init"), options.composition, {
      height: data.train.height,
      width: data.train.width
    })
    const dataRows = { train: data.train.rows, val: data.val.rows, test: data.test?.rows ?? 0 }
    const restored: RestoredRun =
      options.resume === undefined
        ? {
            rows: [],
            extraColumns: [],
            best: null,
            position: {
              epoch: 0,
              batch: 0,
              totals: emptyTotals,
              seconds: 0,
              orderState: rngFor(options.seed, "order").state()
            },
            trainSeconds: 0
          }
        : yield* resumeState(options.resume, { ...options, rows: dataRows, inputDim: data.train.dim }, model)
    const rows = [...restored.rows]
    const extraColumns = [...restored.extraColumns]
    let { best, position, trainSeconds } = restored
    const perEpoch = batchCount(data.train, settings.batchSize, true)
    let budget = options.batchLimit ?? Infinity
    // What last.safetensors on disk holds, so that an interruption right after a save does not save again.
    let saved: { epoch: number; batch: number } | null =
      options.resume === undefined ? null : { epoch: position.epoch, batch: position.batch }
    const files =
      out === undefined ? null : { out, last: join(out, lastCheckpointFile), best: join(out, bestCheckpointFile) }
    const input = inputSpaceOf(data.train)

    const progressAt = (p: Position): RunProgress => ({
      seed: options.seed,
      epochs: options.epochs,
      backend: backend.name,
      next: { epoch: p.epoch, batch: p.batch },
      orderState: p.orderState,
      partial: p.batch > 0 ? { totals: p.totals, seconds: p.seconds } : null,
      best: best === null ? null : { epoch: best.epoch, energy: best.energy },
      trainSeconds,
      data: dataRows,
      describe: options.describe ?? {}
    })

    /** last.safetensors at the current position, unless it holds that already. */
    const saveWhereStopped = (path: string) => {
      const at = { epoch: position.epoch, batch: position.batch }
      if (saved !== null && saved.epoch === at.epoch && saved.batch === at.batch) return Effect.void
      const snapshot = snapshotModel(model, options.model, position.epoch - 1, progressAt(position), input)
      // A broken state is not saved over the last good one; the failure that stops the run says why.
      if (nonFiniteTensorOf(snapshot) !== null) return Effect.void
      return writeFileAtomic(path, encodeSnapshot(snapshot)).pipe(Effect.tap(() => Effect.sync(() => (saved = at))))
    }

    const runEpoch = (epoch: number) =>
      Effect.gen(function* () {
        const order = rngFor(options.seed, "order", position.orderState)
        const from =
          position.batch > 0 ? { batch: position.batch, totals: position.totals, seconds: position.seconds } : undefined
        const trained = yield* trainEpoch(model, data.train, epoch, order, {
          ...(from === undefined ? {} : { from }),
          ...(budget === Infinity ? {} : { batches: budget }),
          onBatch: (cursor, step) =>
            Effect.gen(function* () {
              position = { ...cursor, orderState: position.orderState }
              budget -= 1
              const event: BatchEvent = {
                model,
                epoch,
                batch: cursor.batch,
                batches: perEpoch,
                totals: step.totals,
                epochTotals: cursor.totals,
                seconds: cursor.seconds,
                stepSeconds: step.seconds
              }
              for (const h of hooks) if (h.onBatch !== undefined) yield* h.onBatch(event)
            })
        })
        if (trained.batches < perEpoch) return false
        const val = yield* evaluate(model, data.val)
        if (!Number.isFinite(val.energy) || !Number.isFinite(val.psnr)) {
          return yield* Effect.fail(
            new DivergenceError({ epoch, batch: null, term: "the validation figures of the encoder's codes" })
          )
        }
        const improved = best === null || val.energy < best.energy
        const columns = decoderColumns(model)
        const shapes = columnShapeFigures(columns, data.train)
        const row: Row = {
          epoch: epoch + 1,
          seconds: trained.seconds,
          samplesPerSecond: trained.samplesPerSecond,
          meanFistaSteps: trained.metrics.meanFistaSteps,
          ...metricColumns("train", trained.metrics),
          ...metricColumns("val", val),
          ...shapes
        }
        const event: EpochEvent = { model, epoch, train: trained.metrics, val, row: { ...row }, rows: [...rows] }
        for (const h of hooks) {
          const added = h.onEpoch === undefined ? undefined : yield* h.onEpoch(event)
          if (added !== undefined) yield* mergeColumns(row, added)
        }
        // The bookkeeping and files of an epoch are one step: an interruption waits for all of them.
        yield* Effect.uninterruptible(
          Effect.gen(function* () {
            rows.push(row)
            for (const name of Object.keys(row))
              if (!isBuiltInColumn(name) && !extraColumns.includes(name)) extraColumns.push(name)
            trainSeconds += trained.seconds
            position = { epoch: epoch + 1, batch: 0, totals: emptyTotals, seconds: 0, orderState: order.state() }
            // A host copy of every tensor: made only for the best epoch in memory or for the files.
            if (files === null && !improved) return
            const bestNow = improved
              ? { epoch, energy: val.energy }
              : best === null
                ? null
                : { epoch: best.epoch, energy: best.energy }
            const snapshot = snapshotModel(
              model,
              options.model,
              epoch,
              { ...progressAt(position), best: bestNow },
              input
            )
            // The batches checked the weights; the optimizers' states are checked here, before any file holds them.
            const broken = nonFiniteTensorOf(snapshot)
            if (broken !== null)
              return yield* Effect.fail(
                new DivergenceError({
                  epoch,
                  batch: trained.batches - 1,
                  term: `the model tensor ${broken}, checked at the end of the epoch`
                })
              )
            if (improved) best = { epoch, energy: val.energy, snapshot }
            if (files === null) return
            const bytes = encodeSnapshot(snapshot)
            yield* writeMetrics(files.out, { rows, extraColumns })
            if (picturedEpoch(epoch, options.epochs)) {
              yield* ensureDir(join(files.out, "columns"))
              yield* writeFileAtomic(
                join(files.out, columnsSnapshotFile(epoch)),
                atomGrid(columns.images, columns.count, data.train)
              )
            }
            // last before best: a kill between the two leaves a last that names itself the best, which a resume repairs.
            yield* writeFileAtomic(files.last, bytes)
            saved = { epoch: position.epoch, batch: 0 }
            if (improved) yield* writeFileAtomic(files.best, bytes)
          })
        )
        yield* Effect.logInfo(
          `epoch ${epoch + 1}/${options.epochs} ${trained.seconds.toFixed(1)} s (${trained.samplesPerSecond.toFixed(0)} rows/s) | ` +
            `train energy ${fmt(trained.metrics.energy)} psnr ${fmt(trained.metrics.psnr, 2)} zeros ${fmt(trained.metrics.zeroFraction)} fista steps ${fmt(trained.metrics.meanFistaSteps, 1)} | ` +
            `val energy ${fmt(val.energy)} psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)}${val.hiddenZeroFraction === null ? "" : ` hidden zeros ${fmt(val.hiddenZeroFraction)}`}` +
            `${shapes.columnsEdgeLikeFraction === null ? "" : ` | edge-like columns ${fmt(Number(shapes.columnsEdgeLikeFraction))}`}${improved ? " *" : ""}`
        )
        return true
      })

    const epochs = Effect.gen(function* () {
      while (position.epoch < options.epochs && budget > 0) {
        const finished = yield* runEpoch(position.epoch)
        if (!finished && files !== null) {
          yield* saveWhereStopped(files.last)
          yield* Effect.logInfo(
            `stopped after ${options.batchLimit} batches, at epoch ${position.epoch + 1} batch ${position.batch}; saved ${files.last}`
          )
        }
      }
    })

    const whenInterrupted = Effect.suspend(() => {
      if (files === null) return Effect.void
      const where =
        position.epoch >= options.epochs
          ? `after the last epoch (${options.epochs})`
          : `at epoch ${position.epoch + 1} batch ${position.batch}`
      return saveWhereStopped(files.last).pipe(
        Effect.zipRight(
          Effect.logWarning(`interrupted ${where}; saved ${files.last}; resume with --resume ${files.out}`)
        ),
        Effect.catchAll((e) =>
          Effect.logError(
            `interrupted ${where}, and saving ${files.last} failed: ${e.message}. The previous ${lastCheckpointFile}, if any, is intact`
          )
        )
      )
    })

    // A new run says at once where it stands, so that a folder it replaces never pairs this
    // run's last.safetensors with the previous run's.
    if (options.resume === undefined && files !== null) yield* saveWhereStopped(files.last)

    const keptOnDisk = () =>
      files === null
        ? undefined
        : saved === null || (saved.epoch === 0 && saved.batch === 0)
          ? `Only the starting point is saved (${files.last}): it diverged in the first epoch.`
          : `The last good state is kept: ${files.last} (after epoch ${saved.epoch}${saved.batch > 0 ? ` batch ${saved.batch}` : ""})${best === null ? "" : ` and ${files.best} (best, epoch ${best.epoch + 1})`}.`

    const start: LoopStart = { model, epoch: position.epoch, rows: [...rows] }
    for (const h of hooks) if (h.onStart !== undefined) yield* h.onStart(start)
    yield* epochs.pipe(
      Effect.onInterrupt(() => whenInterrupted),
      Effect.catchIf(
        (e): e is DivergenceError => e instanceof DivergenceError,
        (e) => {
          const kept = keptOnDisk()
          return Effect.fail(
            kept === undefined ? e : new DivergenceError({ epoch: e.epoch, batch: e.batch, term: e.term, kept })
          )
        }
      )
    )
    return {
      model,
      rows,
      extraColumns,
      best,
      trainSeconds,
      next: { epoch: position.epoch, batch: position.batch }
    } satisfies LoopResult
  })
