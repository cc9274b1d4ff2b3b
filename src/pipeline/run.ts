import { Effect } from "effect"
import { constants } from "node:fs"
import { access, readdir, readFile, rm, stat } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { ensureDir, writeFileAtomic } from "../data/atomic-write.js"
import { imageGridPng, pairsGridPng } from "../data/image-grid.js"
import { linePlotSvg } from "../data/plot.js"
import { readArrowIpcTable, type Row, tableToArrowIpc, tableToCsv } from "../data/table.js"
import { WriteError } from "../data/write-error.js"
import { emptyTotals, type SplitMetrics } from "../models/model.js"
import type { ModelSettings } from "../models/settings.js"
import { Backend } from "./backend.js"
import { describeShape, encodeSnapshot, readCheckpoint, restoreSnapshot, type RunProgress, type Snapshot, snapshotModel } from "./checkpoint.js"
import type { Dataset, Splits } from "./dataset.js"
import { CheckpointError, ConfigError, DivergenceError, MetricsFileError, ResumeError } from "./errors.js"
import { atomShapeColumnNames, atomTable, atomTableColumns, columnShapeFigures, picturedEpoch } from "./atom-report.js"
import { codeStatistics, decoderAtoms, decoderColumns, reconstructionPairs } from "./pictures.js"
import { scopedModel } from "./resources.js"
import { rngFor } from "./seeds.js"
import { type EpochCursor, evaluate, trainEpoch } from "./train.js"

/** The best epoch so far (lowest validation energy): what the evaluations read. */
export const bestCheckpointFile = "checkpoint.safetensors"
/** The latest state of the run, after a finished epoch or at the batch where it was stopped: what a resume reads. */
export const lastCheckpointFile = "last.safetensors"
export const metricsFile = "metrics.arrow"

export interface RunOptions {
  /** The variant's name, recorded in the summary and the checkpoint. */
  readonly model: string
  readonly settings: ModelSettings
  /** The total number of epochs, counting those a resumed run has already done. */
  readonly epochs: number
  readonly seed: number
  /** The run folder; created if missing. */
  readonly out: string
  /** Free-form facts about the data and the command, copied into summary.json and the checkpoints. */
  readonly describe?: Readonly<Record<string, unknown>>
  /** Continue the run whose state this is (from readResumePoint) instead of starting afresh. */
  readonly resume?: ResumePoint
  /** Called after each batch inside its uninterruptible step: for progress reports, and for tests that stop a run at a chosen batch. */
  readonly onBatch?: (cursor: EpochCursor) => Effect.Effect<void>
  /** Called after each finished epoch, once its files are written. */
  readonly onEpoch?: (epoch: number) => Effect.Effect<void>
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

/** The state of a stopped run, read from its last.safetensors. */
export interface ResumePoint {
  readonly folder: string
  readonly snapshot: Snapshot
  readonly progress: RunProgress
}

const metricColumns = (prefix: string, m: SplitMetrics): Row => ({
  [`${prefix}Energy`]: m.energy,
  [`${prefix}Psnr`]: m.psnr,
  [`${prefix}ZeroFraction`]: m.zeroFraction,
  [`${prefix}HiddenZeroFraction`]: m.hiddenZeroFraction
})

/** The columns of metrics.arrow, in order; the hidden-layer ones are null for a linear decoder. */
export const metricsColumnNames = [
  "epoch",
  "seconds",
  "samplesPerSecond",
  "meanFistaSteps",
  ...["train", "val"].flatMap((p) => ["Energy", "Psnr", "ZeroFraction", "HiddenZeroFraction"].map((m) => `${p}${m}`)),
  ...atomShapeColumnNames
] as const

/** Columns that runs of earlier versions did not write: a resume of such a run fills them with nulls. */
const laterColumns: ReadonlySet<string> = new Set(atomShapeColumnNames)

const fmt = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits))

const tileCount = (n: number) => Math.ceil(Math.sqrt(n))

/** Atoms or columns as a square grid, each scaled to its own max |value|, 0 at mid-grey. */
const atomGrid = (images: Float32Array, count: number, ds: Dataset) =>
  imageGridPng(images, { height: ds.height, width: ds.width, scaling: "per-image-symmetric", zoom: 2, count, columns: tileCount(count) })

/** Where an epoch's column grid is kept, so a run shows how its atoms formed. */
export const columnsSnapshotFile = (epoch: number) => join("columns", `epoch-${String(epoch + 1).padStart(3, "0")}.png`)

/** The pictures of SPEC §7 for a trained model, as PNG files in the run folder, and the atom table. */
export const writePictures = (out: string, m: Parameters<typeof decoderColumns>[0], ds: Dataset) =>
  Effect.gen(function* () {
    const columns = decoderColumns(m)
    yield* writeFileAtomic(join(out, "decoder-columns.png"), atomGrid(columns.images, columns.count, ds))
    const stats = yield* codeStatistics(m, ds)
    const deep = m.decoder.layers.length > 1
    const atomImages = deep ? decoderAtoms(m, stats.max) : columns.images
    if (deep) yield* writeFileAtomic(join(out, "decoder-atoms.png"), atomGrid(atomImages, m.settings.codeDim, ds))
    const atoms = atomTable(atomImages, ds, stats)
    yield* writeFileAtomic(join(out, "atoms.arrow"), tableToArrowIpc(atoms.rows, [...atomTableColumns]))
    yield* writeFileAtomic(join(out, "atoms.csv"), tableToCsv(atoms.rows, [...atomTableColumns]))
    const pairs = yield* reconstructionPairs(m, ds, 32)
    yield* writeFileAtomic(
      join(out, "reconstructions.png"),
      pairsGridPng(pairs.inputs, pairs.reconstructions, { height: ds.height, width: ds.width, count: pairs.count, columns: 4, scaling: "range", range: [0, 1], zoom: 2 })
    )
    return { ...stats, atomShapes: atoms.summary }
  })

const errnoCode = (e: unknown): unknown => (e as { code?: unknown } | null)?.code

/**
 * Reads a metrics.arrow written by a run and checks that it has every column a run writes, as
 * numbers, with epochs numbered 1, 2, …: a resume continues the table, and a table of another
 * shape would be continued into nonsense.
 */
export const readMetrics = (path: string): Effect.Effect<Row[], MetricsFileError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new MetricsFileError({ file: path, problem }))
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (e) => new MetricsFileError({ file: path, problem: errnoCode(e) === "ENOENT" ? "it does not exist. A run writes it after its first epoch; start a new run if none finished" : `it cannot be read (${e instanceof Error ? e.message : String(e)})` })
    })
    const table = yield* Effect.try({
      try: () => readArrowIpcTable(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      // The Arrow reader meets a cut file as a TypeError from deep inside; its text says nothing to a person.
      catch: (e) =>
        new MetricsFileError({
          file: path,
          problem: `it cannot be read as an Arrow table (${e instanceof TypeError ? "it is truncated or damaged" : e instanceof Error ? e.message.split("\n")[0] : String(e)}). Restore the file written by the run, or start a new run`
        })
    })
    const missing = metricsColumnNames.filter((c) => !table.columns.includes(c) && !laterColumns.has(c))
    if (missing.length > 0) {
      return yield* fail(`it lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it has ${table.columns.join(", ") || "none"}): it was not written by a training run. Restore the file written by the run, or start a new run`)
    }
    const rows: Row[] = []
    for (const [i, r] of table.rows.entries()) {
      const row: Row = {}
      for (const c of metricsColumnNames) {
        const v = table.columns.includes(c) ? r[c] : null
        const nullable = c.endsWith("HiddenZeroFraction") || laterColumns.has(c)
        if (typeof v === "string" || (v === null && !nullable)) {
          return yield* fail(`column ${c} holds ${v === null ? "an empty value" : `the text ${JSON.stringify(v)}`} in row ${i + 1}, where a run writes a number. Restore the file written by the run, or start a new run`)
        }
        row[c] = v
      }
      if (row.epoch !== i + 1) return yield* fail(`row ${i + 1} is numbered epoch ${row.epoch}; a run numbers its rows 1, 2, 3, …. Restore the file written by the run, or start a new run`)
      rows.push(row)
    }
    return rows
  })

/**
 * Checks that `out` can become a run folder before any work starts: no regular file on its path
 * and a writable folder to create it in. Says whether a run is there already, which a new run
 * replaces (sweeps rerun into the same folder on purpose).
 */
export const checkOutputFolder = (out: string): Effect.Effect<{ readonly holdsRun: boolean }, WriteError> =>
  Effect.gen(function* () {
    const target = resolve(out)
    let dir = target
    for (;;) {
      const info = yield* Effect.promise(() => stat(dir).then((s) => s, () => null))
      if (info !== null) {
        if (!info.isDirectory()) {
          return yield* Effect.fail(new WriteError({ path: out, problem: dir === target ? "it is a file, not a folder" : `a part of the path, ${dir}, is a file, not a folder` }))
        }
        break
      }
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
    const writable = yield* Effect.promise(() => access(dir, constants.W_OK).then(() => true, () => false))
    if (!writable) return yield* Effect.fail(new WriteError({ path: out, problem: `the folder ${dir} is not writable (permission denied)` }))
    const holdsRun = yield* Effect.promise(() => stat(join(target, lastCheckpointFile)).then(() => true, () => false))
    return { holdsRun }
  })

/** Reads the state a stopped or finished run left in its folder. */
export const readResumePoint = (folder: string): Effect.Effect<ResumePoint, ResumeError | CheckpointError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new ResumeError({ folder, problem }))
    const info = yield* Effect.promise(() => stat(folder).then((s) => s, () => null))
    if (info === null) return yield* fail("the folder does not exist. Pass the folder of a run written by experiments/mnist.ts")
    if (!info.isDirectory()) return yield* fail("it is a file, not a folder. Pass the folder of a run written by experiments/mnist.ts")
    const lastPath = join(folder, lastCheckpointFile)
    const hasLast = yield* Effect.promise(() => stat(lastPath).then(() => true, () => false))
    if (!hasLast) {
      const hasBest = yield* Effect.promise(() => stat(join(folder, bestCheckpointFile)).then(() => true, () => false))
      return yield* fail(
        hasBest
          ? `it has ${bestCheckpointFile} but no ${lastCheckpointFile}: it was written by a version that could not resume. Start a new run`
          : `it has no ${lastCheckpointFile}: it is not a run folder, or the run stopped before it saved anything. Start a new run`
      )
    }
    const snapshot = yield* readCheckpoint(lastPath)
    if (snapshot.progress === undefined) return yield* fail(`${lastCheckpointFile} holds no resume state (the position in the data, the random state). Start a new run`)
    return { folder, snapshot, progress: snapshot.progress }
  })

/** JSON with sorted keys, for comparing settings whatever order their fields were built in. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x) => (x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x))

/** The message for an option that would change the run being resumed. */
export const conflictError = (point: ResumePoint, option: string, given: string, stored: string) =>
  new ConfigError({
    option,
    problem: `the run in ${point.folder} was trained with ${option} ${stored}, not ${given}; a resumed run keeps its settings (only --epochs may change). Drop ${option} to continue it, or start a new run with another --out`
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

interface Best {
  readonly epoch: number
  readonly energy: number
  readonly snapshot: Snapshot
}

/** Where the run stands between batches: the epoch in progress, its batches done, and their sums. */
interface Position extends EpochCursor {
  /** The data-order generator's state at the start of `epoch`. */
  readonly orderState: number
}

/**
 * Checks a resume point against the run it is to continue, then brings back the model, the
 * metrics rows of the finished epochs, and the best epoch's snapshot.
 */
const resumeState = (point: ResumePoint, options: RunOptions, data: Splits<Dataset>, model: Parameters<typeof restoreSnapshot>[0]) =>
  Effect.gen(function* () {
    const { folder, snapshot, progress } = point
    const fail = (problem: string) => Effect.fail(new ResumeError({ folder, problem }))
    const lastPath = join(folder, lastCheckpointFile)
    if (snapshot.model !== options.model) return yield* fail(`it is a run of ${snapshot.model}, not ${options.model}. Resume it as ${snapshot.model}, or start a new run`)
    if (progress.seed !== options.seed) return yield* fail(`it was run with seed ${progress.seed}, not ${options.seed}. Resume it with its own seed, or start a new run`)
    if (canonical({ ...snapshot.settings, epochs: 0 }) !== canonical({ ...options.settings, epochs: 0 })) {
      return yield* fail("its settings differ from the ones given. Resume it with its own settings, or start a new run")
    }
    const rowsNow = { train: data.train.rows, val: data.val.rows, test: data.test.rows }
    if (canonical(rowsNow) !== canonical(progress.data) || snapshot.inputDim !== data.train.dim) {
      return yield* fail(
        `it was trained on ${progress.data.train} / ${progress.data.val} / ${progress.data.test} train / val / test rows of ${snapshot.inputDim} values, but the data now has ${rowsNow.train} / ${rowsNow.val} / ${rowsNow.test} rows of ${data.train.dim}. Resume it on the same data (the same --mnist-dir and --train-size), or start a new run`
      )
    }
    const started = progress.next.epoch + (progress.next.batch > 0 ? 1 : 0)
    if (options.epochs < started) {
      return yield* Effect.fail(new ConfigError({ option: "--epochs", problem: `the run in ${folder} has already ${progress.next.batch > 0 ? "started" : "finished"} ${started} epochs; pass a total of at least ${started}` }))
    }
    yield* restoreSnapshot(model, snapshot, lastPath)
    const finished = progress.next.epoch
    const allRows = finished === 0 ? [] : yield* readMetrics(join(folder, metricsFile))
    if (allRows.length < finished) {
      return yield* fail(`${metricsFile} has ${allRows.length} rows but ${lastCheckpointFile} has finished ${finished} epochs: the folder was changed by hand. Restore the run's own ${metricsFile}, or start a new run`)
    }
    // A process killed between writing the table and the checkpoint leaves a row the resume will redo.
    const rows = allRows.slice(0, finished)
    let best: Best | null = null
    if (progress.best !== null) {
      const bestPath = join(folder, bestCheckpointFile)
      const stored = yield* Effect.either(readCheckpoint(bestPath))
      const structure = (s: Snapshot) => canonical([s.model, s.inputDim, s.settings.codeDim, s.settings.hidden, s.settings.listaSteps])
      if (stored._tag === "Right" && structure(stored.right) !== structure(snapshot)) {
        // Which of the two was replaced cannot be told from the files: the message names both.
        return yield* fail(`${bestCheckpointFile} (${stored.right.model}, ${describeShape(stored.right.settings)}) and ${lastCheckpointFile} (${snapshot.model}, ${describeShape(snapshot.settings)}) are checkpoints of different models, so one of them is not this run's. Put back the run's own file, or start a new run`)
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
    return { rows, best, position, trainSeconds: progress.trainSeconds }
  })

/**
 * A training run as a composition of stages: per epoch, the training stage and the validation
 * stage; the epoch with the lowest validation energy (encoder codes) is kept as a checkpoint and
 * is the one evaluated on the test set at the end. Every file is written atomically, each epoch,
 * so a stopped run leaves a readable folder; last.safetensors holds where the run stands.
 *
 * Interruption (Ctrl-C) takes effect between batches: the run then saves its state at that batch
 * to last.safetensors, and `resume` continues from there with the same results as a run that was
 * never stopped. A divergence (NaN or infinity) fails the run and writes nothing more.
 */
export const trainRun = (options: RunOptions, data: Splits<Dataset>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const backend = yield* Backend
      const { out, settings } = options
      yield* ensureDir(out)
      const model = yield* scopedModel(settings, data.train.dim, rngFor(options.seed, "init"))
      const lastPath = join(out, lastCheckpointFile)
      const bestPath = join(out, bestCheckpointFile)
      const restored =
        options.resume === undefined
          ? { rows: [] as Row[], best: null as Best | null, position: { epoch: 0, batch: 0, totals: emptyTotals, seconds: 0, orderState: rngFor(options.seed, "order").state() } as Position, trainSeconds: 0 }
          : yield* resumeState(options.resume, options, data, model)
      const { rows } = restored
      let { best, position, trainSeconds } = restored
      let lastTrain: SplitMetrics | null = null
      // What last.safetensors on disk holds, so that an interruption right after a save does not save again.
      let saved: { epoch: number; batch: number } | null = options.resume === undefined ? null : { epoch: position.epoch, batch: position.batch }

      const progressAt = (p: Position): RunProgress => ({
        seed: options.seed,
        epochs: options.epochs,
        backend: backend.name,
        next: { epoch: p.epoch, batch: p.batch },
        orderState: p.orderState,
        partial: p.batch > 0 ? { totals: p.totals, seconds: p.seconds } : null,
        best: best === null ? null : { epoch: best.epoch, energy: best.energy },
        trainSeconds,
        data: { train: data.train.rows, val: data.val.rows, test: data.test.rows },
        describe: options.describe ?? {}
      })
      const snapshotAt = (p: Position) => snapshotModel(model, options.model, p.epoch - 1, progressAt(p))

      const epochs = Effect.gen(function* () {
        while (position.epoch < options.epochs) {
          const epoch = position.epoch
          const order = rngFor(options.seed, "order", position.orderState)
          const from = position.batch > 0 ? { batch: position.batch, totals: position.totals, seconds: position.seconds } : undefined
          const trained = yield* trainEpoch(model, data.train, epoch, order, {
            ...(from === undefined ? {} : { from }),
            onBatch: (cursor) =>
              Effect.sync(() => {
                position = { ...cursor, orderState: position.orderState }
              }).pipe(Effect.zipRight(options.onBatch?.(cursor) ?? Effect.void))
          })
          const val = yield* evaluate(model, data.val)
          if (!Number.isFinite(val.energy) || !Number.isFinite(val.psnr)) {
            return yield* Effect.fail(new DivergenceError({ epoch, batch: null, term: "the validation figures of the encoder's codes" }))
          }
          lastTrain = trained.metrics
          const improved = best === null || val.energy < best.energy
          const columns = decoderColumns(model)
          const shapes = columnShapeFigures(columns, data.train)
          // The bookkeeping and files of an epoch are one step: an interruption waits for all of them.
          yield* Effect.uninterruptible(
            Effect.gen(function* () {
              rows.push({
                epoch: epoch + 1,
                seconds: trained.seconds,
                samplesPerSecond: trained.samplesPerSecond,
                meanFistaSteps: trained.metrics.meanFistaSteps,
                ...metricColumns("train", trained.metrics),
                ...metricColumns("val", val),
                ...shapes
              })
              trainSeconds += trained.seconds
              position = { epoch: epoch + 1, batch: 0, totals: emptyTotals, seconds: 0, orderState: order.state() }
              const bestNow = improved ? { epoch, energy: val.energy } : best === null ? null : { epoch: best.epoch, energy: best.energy }
              const snapshot = snapshotModel(model, options.model, epoch, { ...progressAt(position), best: bestNow })
              if (improved) best = { epoch, energy: val.energy, snapshot }
              const bytes = encodeSnapshot(snapshot)
              yield* writeFileAtomic(join(out, metricsFile), tableToArrowIpc(rows, [...metricsColumnNames]))
              yield* writeFileAtomic(join(out, "metrics.csv"), tableToCsv(rows, [...metricsColumnNames]))
              if (picturedEpoch(epoch, options.epochs)) {
                yield* ensureDir(join(out, "columns"))
                yield* writeFileAtomic(join(out, columnsSnapshotFile(epoch)), atomGrid(columns.images, columns.count, data.train))
              }
              // last before best: a kill between the two leaves a last that names itself the best, which a resume repairs.
              yield* writeFileAtomic(lastPath, bytes)
              saved = { epoch: position.epoch, batch: 0 }
              if (improved) yield* writeFileAtomic(bestPath, bytes)
            })
          )
          yield* Effect.logInfo(
            `epoch ${epoch + 1}/${options.epochs} ${trained.seconds.toFixed(1)} s (${trained.samplesPerSecond.toFixed(0)} rows/s) | ` +
              `train energy ${fmt(trained.metrics.energy)} psnr ${fmt(trained.metrics.psnr, 2)} zeros ${fmt(trained.metrics.zeroFraction)} fista steps ${fmt(trained.metrics.meanFistaSteps, 1)} | ` +
              `val energy ${fmt(val.energy)} psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)}${val.hiddenZeroFraction === null ? "" : ` hidden zeros ${fmt(val.hiddenZeroFraction)}`}` +
              `${shapes.columnsEdgeLikeFraction === null ? "" : ` | edge-like columns ${fmt(Number(shapes.columnsEdgeLikeFraction))}`}${improved ? " *" : ""}`
          )
          if (options.onEpoch !== undefined) yield* options.onEpoch(epoch)
        }
      })

      const whenInterrupted = Effect.suspend(() => {
        const at = { epoch: position.epoch, batch: position.batch }
        const done = position.epoch >= options.epochs
        const where = done ? `after the last epoch (${options.epochs}), before the summary was written` : `at epoch ${at.epoch + 1} batch ${at.batch}`
        const save =
          saved !== null && saved.epoch === at.epoch && saved.batch === at.batch
            ? Effect.void
            : writeFileAtomic(lastPath, encodeSnapshot(snapshotAt(position))).pipe(Effect.tap(() => Effect.sync(() => (saved = at))))
        return save.pipe(
          Effect.zipRight(Effect.logWarning(`interrupted ${where}; saved ${lastPath}; resume with --resume ${out}`)),
          Effect.catchAll((e) => Effect.logError(`interrupted ${where}, and saving ${lastPath} failed: ${e.message}. The previous ${lastCheckpointFile}, if any, is intact`))
        )
      })

      // A new run says at once where it stands, so that a folder it replaces never pairs this
      // run's last.safetensors with the previous run's.
      if (options.resume === undefined) {
        yield* writeFileAtomic(lastPath, encodeSnapshot(snapshotAt(position)))
        saved = { epoch: 0, batch: 0 }
      }

      const keptOnDisk = () =>
        saved === null || (saved.epoch === 0 && saved.batch === 0)
          ? `Only the starting point is saved (${lastPath}): it diverged in the first epoch.`
          : `The last good state is kept: ${lastPath} (after epoch ${saved.epoch}${saved.batch > 0 ? ` batch ${saved.batch}` : ""})${best === null ? "" : ` and ${bestPath} (best, epoch ${best.epoch + 1})`}.`

      yield* epochs.pipe(
        Effect.onInterrupt(() => whenInterrupted),
        Effect.catchTag("DivergenceError", (e) => Effect.fail(new DivergenceError({ ...e, kept: keptOnDisk() })))
      )

      const final = Effect.gen(function* () {
        if (best === null) return yield* Effect.dieMessage("trainRun needs at least one epoch")
        yield* restoreSnapshot(model, best.snapshot, bestPath)
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
        const lastRow = rows[rows.length - 1]
        const train = lastTrain ?? {
          energy: Number(lastRow.trainEnergy),
          psnr: Number(lastRow.trainPsnr),
          zeroFraction: Number(lastRow.trainZeroFraction),
          hiddenZeroFraction: lastRow.trainHiddenZeroFraction === null ? null : Number(lastRow.trainHiddenZeroFraction),
          meanFistaSteps: Number(lastRow.meanFistaSteps)
        }
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
          codeUsage: { unusedComponents: stats.usage.filter((u) => u === 0).length, meanUsage: stats.usage.reduce((a, b) => a + b, 0) / stats.usage.length },
          atomShapes: stats.atomShapes,
          seed: options.seed,
          settings,
          data: { train: data.train.rows, val: data.val.rows, test: data.test.rows, ...options.describe },
          files: ["summary.json", metricsFile, "metrics.csv", bestCheckpointFile, lastCheckpointFile, "decoder-columns.png", ...(model.decoder.layers.length > 1 ? ["decoder-atoms.png"] : []), "atoms.arrow", "atoms.csv", "reconstructions.png", "psnr.svg", "columns/"]
        }
        yield* writeFileAtomic(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n")
        yield* Effect.logInfo(
          `best epoch ${best.epoch + 1}: val psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)} energy ${fmt(val.energy)} | test psnr ${fmt(test.psnr, 2)} zeros ${fmt(test.zeroFraction)} | wrote ${out}`
        )
        return summary
      })
      return yield* final.pipe(Effect.onInterrupt(() => whenInterrupted))
    })
  )
