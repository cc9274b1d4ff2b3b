import { Data, Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { readArrowIpc } from "../../data/table.js"

/**
 * What the paper's whole grid costs, projected from measured epochs: every run's hours, the
 * total on one machine, and the wall time on N queue workers (one machine each). The measured
 * cost is seconds per training row of an epoch, so a measurement on a smaller patch set scales
 * to the grid's.
 */

/** A measured cost: seconds per training row of one epoch of this model on this data set. */
export interface EpochCost {
  readonly dataset: string
  readonly model: string
  readonly secondsPerRow: number
  /** Where it was measured: a run folder, a command. */
  readonly from: string
}

/** One run of the grid. */
export interface GridRun {
  readonly dataset: string
  readonly model: string
  readonly lambda: number
  readonly epochs: number
  readonly trainRows: number
}

/**
 * The grid of issue-sized claims: MNIST's 55,000 training images at 200 epochs for all seven
 * variants at three λ each, and 200,000 patches at 100 epochs for SDL, VDL and VDL-NL at two λ.
 */
export const paperGrid = (
  mnistLambdas: Readonly<Record<string, ReadonlyArray<number>>>,
  patchLambdas: Readonly<Record<string, ReadonlyArray<number>>>
): GridRun[] => [
  ...Object.entries(mnistLambdas).flatMap(([model, lambdas]) =>
    lambdas.map((lambda) => ({ dataset: "mnist", model, lambda, epochs: 200, trainRows: 55_000 }))
  ),
  ...Object.entries(patchLambdas).flatMap(([model, lambdas]) =>
    lambdas.map((lambda) => ({ dataset: "patches", model, lambda, epochs: 100, trainRows: 200_000 }))
  )
]

export interface ProjectedRun extends GridRun {
  readonly hours: number
}

export interface GridProjection {
  readonly runs: ReadonlyArray<ProjectedRun>
  readonly totalHours: number
  /** Wall hours on each number of workers, runs handed out longest first to the worker free soonest. */
  readonly onWorkers: ReadonlyArray<{ readonly workers: number; readonly hours: number }>
  /** Runs of the grid without a measured cost for their data set and model. */
  readonly unmeasured: ReadonlyArray<GridRun>
}

/** Wall time of jobs on `workers` machines by the longest-first rule (within 4/3 of the best schedule). */
export const longestFirstMakespan = (durations: ReadonlyArray<number>, workers: number): number => {
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new RangeError(`workers: ${workers}; give a whole number, 1 or more`)
  const free = new Array<number>(workers).fill(0)
  for (const d of [...durations].sort((a, b) => b - a)) {
    let soonest = 0
    for (let w = 1; w < workers; w++) if (free[w] < free[soonest]) soonest = w
    free[soonest] += d
  }
  return Math.max(...free)
}

export const projectGrid = (
  grid: ReadonlyArray<GridRun>,
  costs: ReadonlyArray<EpochCost>,
  workers: ReadonlyArray<number>
): GridProjection => {
  const costOf = (run: GridRun) => costs.find((c) => c.dataset === run.dataset && c.model === run.model)
  const runs: ProjectedRun[] = []
  const unmeasured: GridRun[] = []
  for (const run of grid) {
    const cost = costOf(run)
    if (cost === undefined) unmeasured.push(run)
    else runs.push({ ...run, hours: (run.epochs * run.trainRows * cost.secondsPerRow) / 3600 })
  }
  const hours = runs.map((r) => r.hours)
  return {
    runs,
    totalHours: hours.reduce((a, b) => a + b, 0),
    onWorkers: workers.map((n) => ({ workers: n, hours: longestFirstMakespan(hours, n) })),
    unmeasured
  }
}

/** A run folder's measured cost cannot be read: what is missing and how to make it. */
export class EpochCostError extends Data.TaggedError("EpochCostError")<{
  readonly runDir: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.runDir}: ${this.problem}. Measure with a short run of the model first, e.g. sparse-vdl train --model vdl --epochs 3 --out ${this.runDir}`
  }
}

/**
 * The cost per training row of a finished run folder's epochs, from its summary.json (model,
 * data set, training rows) and metrics.arrow (seconds per epoch). The first epoch is left out
 * when there are later ones: it carries the start-up (compilation, first allocations).
 */
export const readEpochCost = (runDir: string): Effect.Effect<EpochCost, EpochCostError> =>
  Effect.try({
    try: () => {
      const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as {
        model?: string
        data?: { train?: number; mnist?: unknown; patchFile?: unknown }
      }
      const rows = readArrowIpc(readFileSync(join(runDir, "metrics.arrow")))
      return { summary, seconds: rows.map((r) => Number(r.seconds)) }
    },
    catch: (e) => new EpochCostError({ runDir, problem: e instanceof Error ? e.message : String(e) })
  }).pipe(
    Effect.flatMap(({ summary, seconds }) => {
      const fail = (problem: string) => Effect.fail(new EpochCostError({ runDir, problem }))
      const trainRows = summary.data?.train
      if (summary.model === undefined) return fail("summary.json names no model")
      if (trainRows === undefined || !(trainRows > 0)) return fail("summary.json gives no training rows")
      const dataset =
        summary.data?.patchFile !== undefined ? "patches" : summary.data?.mnist !== undefined ? "mnist" : null
      if (dataset === null) return fail("the run trained on neither MNIST nor a patch file")
      const measured = seconds.length > 1 ? seconds.slice(1) : seconds
      if (measured.length === 0 || !measured.every((s) => Number.isFinite(s) && s > 0))
        return fail("metrics.arrow holds no finished epoch with its seconds")
      const perEpoch = measured.reduce((a, b) => a + b, 0) / measured.length
      return Effect.succeed({
        dataset,
        model: summary.model,
        secondsPerRow: perEpoch / trainRows,
        from: `${runDir} (epochs ${seconds.length > 1 ? 2 : 1}–${seconds.length})`
      })
    })
  )
