import { Effect } from "effect"
import { readdir, rm, stat } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import type { Row } from "../../data/table.js"
import type { WriteError } from "../../data/write-error.js"
import { emptyTotals, type SparseCodingModel } from "../../models/model.js"
import type { ModelSettings } from "../../models/settings.js"
import {
  describeShape,
  encodeSnapshot,
  readCheckpoint,
  restoreSnapshot,
  type RunProgress,
  type Snapshot
} from "./checkpoint.js"
import { CheckpointError, SettingsError, type MetricsFileError, ResumeError } from "../errors.js"
import type { EpochCursor } from "./epoch.js"
import { bestCheckpointFile, lastCheckpointFile, metricsFile } from "./layout.js"
import { readMetrics } from "./metrics-table.js"
import { canonicalJson as canonical } from "../../data/canonical-json.js"

/** The state of a stopped run, read from its last.safetensors. */
export interface ResumePoint {
  readonly folder: string
  readonly snapshot: Snapshot
  readonly progress: RunProgress
}

/** Reads the state a stopped or finished run left in its folder. */
export const readResumePoint = (folder: string): Effect.Effect<ResumePoint, ResumeError | CheckpointError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new ResumeError({ folder, problem }))
    const info = yield* Effect.promise(() =>
      stat(folder).then(
        (s) => s,
        () => null
      )
    )
    if (info === null) return yield* fail("the folder does not exist. Pass the folder of a training run")
    if (!info.isDirectory()) return yield* fail("it is a file, not a folder. Pass the folder of a training run")
    const lastPath = join(folder, lastCheckpointFile)
    const hasLast = yield* Effect.promise(() =>
      stat(lastPath).then(
        () => true,
        () => false
      )
    )
    if (!hasLast) {
      const hasBest = yield* Effect.promise(() =>
        stat(join(folder, bestCheckpointFile)).then(
          () => true,
          () => false
        )
      )
      return yield* fail(
        hasBest
          ? `it has ${bestCheckpointFile} but no ${lastCheckpointFile}: it was written by a version that could not resume. Start a new run`
          : `it has no ${lastCheckpointFile}: it is not a run folder, or the run stopped before it saved anything. Start a new run`
      )
    }
    const snapshot = yield* readCheckpoint(lastPath)
    if (snapshot.progress === undefined)
      return yield* fail(
        `${lastCheckpointFile} holds no resume state (the position in the data, the random state). Start a new run`
      )
    return { folder, snapshot, progress: snapshot.progress }
  })

/**
 * Temp files of atomic writes a killed process left behind (".last.safetensors.tmp-PID-HEX").
 * They are never the files themselves, only litter; a resume, the folder's one writer, clears them.
 */
const clearStaleTempFiles = (folder: string) =>
  Effect.promise(async () => {
    const names = await readdir(folder).catch(() => [] as string[])
    const stale = names.filter((n) => /^\..+\.tmp-(\d+)-[0-9a-f]{12}$/.test(n) && !n.includes(`.tmp-${process.pid}-`))
    await Promise.all(stale.map((n) => rm(join(folder, n), { force: true }).catch(() => undefined)))
  })

/** The epoch with the lowest validation energy so far, and the model's state after it. */
export interface Best {
  readonly epoch: number
  readonly energy: number
  readonly snapshot: Snapshot
}

/** Where the run stands between batches: the epoch in progress, its batches done, and their sums. */
export interface Position extends EpochCursor {
  /** The data-order generator's state at the start of `epoch`. */
  readonly orderState: number
}

/** What a run continues from: its metrics so far, its best epoch, where it stands. */
export interface RestoredRun {
  readonly rows: Row[]
  readonly extraColumns: readonly string[]
  readonly best: Best | null
  readonly position: Position
  readonly trainSeconds: number
}

/** The run a resume point must belong to: its variant, settings, seed, planned epochs and data. */
export interface ResumeTarget {
  readonly model: string
  readonly settings: ModelSettings
  readonly seed: number
  readonly epochs: number
  readonly rows: RunProgress["data"]
  readonly inputDim: number
}

/**
 * Checks a resume point against the run it is to continue, then brings back the model, the
 * metrics rows of the finished epochs, and the best epoch's snapshot.
 */
export const resumeState = (
  point: ResumePoint,
  options: ResumeTarget,
  model: SparseCodingModel
): Effect.Effect<RestoredRun, ResumeError | CheckpointError | SettingsError | MetricsFileError | WriteError> =>
  Effect.gen(function* () {
    const { folder, snapshot, progress } = point
    const fail = (problem: string) => Effect.fail(new ResumeError({ folder, problem }))
    const lastPath = join(folder, lastCheckpointFile)
    if (snapshot.model !== options.model)
      return yield* fail(
        `it is a run of ${snapshot.model}, not ${options.model}. Resume it as ${snapshot.model}, or start a new run`
      )
    if (progress.seed !== options.seed)
      return yield* fail(
        `it was run with seed ${progress.seed}, not ${options.seed}. Resume it with its own seed, or start a new run`
      )
    if (canonical({ ...snapshot.settings, epochs: 0 }) !== canonical({ ...options.settings, epochs: 0 })) {
      return yield* fail("its settings differ from the ones given. Resume it with its own settings, or start a new run")
    }
    const rowsNow = options.rows
    if (canonical(rowsNow) !== canonical(progress.data) || snapshot.inputDim !== options.inputDim) {
      return yield* fail(
        `it was trained on ${progress.data.train} / ${progress.data.val} / ${progress.data.test} train / val / test rows of ${snapshot.inputDim} values, but the data now has ${rowsNow.train} / ${rowsNow.val} / ${rowsNow.test} rows of ${options.inputDim}. Resume it on the same data (the same --mnist-dir and --train-size), or start a new run`
      )
    }
    const started = progress.next.epoch + (progress.next.batch > 0 ? 1 : 0)
    if (options.epochs < started) {
      return yield* Effect.fail(
        new SettingsError({
          setting: "epochs",
          problem: `the run in ${folder} has already ${progress.next.batch > 0 ? "started" : "finished"} ${started} epochs; ask for a total of at least ${started}`
        })
      )
    }
    yield* restoreSnapshot(model, snapshot, lastPath)
    const finished = progress.next.epoch
    const table = finished === 0 ? { rows: [], extraColumns: [] } : yield* readMetrics(join(folder, metricsFile))
    const allRows = table.rows
    if (allRows.length < finished) {
      return yield* fail(
        `${metricsFile} has ${allRows.length} rows but ${lastCheckpointFile} has finished ${finished} epochs: the folder was changed by hand. Restore the run's own ${metricsFile}, or start a new run`
      )
    }
    // A process killed between writing the table and the checkpoint leaves a row the resume will redo.
    const rows = allRows.slice(0, finished)
    let best: Best | null = null
    if (progress.best !== null) {
      const bestPath = join(folder, bestCheckpointFile)
      const stored = yield* Effect.either(readCheckpoint(bestPath))
      const structure = (s: Snapshot) =>
        canonical([s.model, s.inputDim, s.settings.codeDim, s.settings.hidden, s.settings.listaSteps])
      if (stored._tag === "Right" && structure(stored.right) !== structure(snapshot)) {
        // Which of the two was replaced cannot be told from the files: the message names both.
        return yield* fail(
          `${bestCheckpointFile} (${stored.right.model}, ${describeShape(stored.right.settings)}) and ${lastCheckpointFile} (${snapshot.model}, ${describeShape(snapshot.settings)}) are checkpoints of different models, so one of them is not this run's. Put back the run's own file, or start a new run`
        )
      }
      if (stored._tag === "Right" && stored.right.epoch === progress.best.epoch) {
        best = { ...progress.best, snapshot: stored.right }
      } else if (progress.best.epoch === snapshot.epoch && progress.next.batch === 0) {
        // Killed after last.safetensors recorded a new best but before checkpoint.safetensors was
        // replaced (or the best file is damaged): that best is last's own state, so the best
        // checkpoint is rewritten from it.
        best = { ...progress.best, snapshot }
        yield* Effect.logWarning(
          `${bestPath} ${stored._tag === "Left" ? `cannot be used (${stored.left.problem})` : `holds epoch ${stored.right.epoch + 1}, not the run's best`}; ` +
            `it is rewritten from ${lastPath}, which holds the best epoch (${progress.best.epoch + 1})`
        )
        yield* writeFileAtomic(bestPath, encodeSnapshot(snapshot))
      } else {
        return yield* fail(
          stored._tag === "Left"
            ? `its best checkpoint cannot be used (${stored.left.message}). Restore ${bestCheckpointFile}, or start a new run`
            : `${bestCheckpointFile} holds epoch ${stored.right.epoch + 1} but the run's best is epoch ${progress.best.epoch + 1}: the folder was changed by hand. Restore the run's own ${bestCheckpointFile}, or start a new run`
        )
      }
    }
    yield* clearStaleTempFiles(folder)
    const position: Position = {
      epoch: progress.next.epoch,
      batch: progress.next.batch,
      totals: progress.partial?.totals ?? emptyTotals,
      seconds: progress.partial?.seconds ?? 0,
      orderState: progress.orderState
    }
    return { rows, extraColumns: table.extraColumns, best, position, trainSeconds: progress.trainSeconds }
  })
