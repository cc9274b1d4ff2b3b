/**
 * Running the plan's steps: training runs through the sweep's runner (one process per run, or
 * the job queue), every other step as one process of the program, each skipped when its outputs
 * are there and newer than what they were made from.
 */
import { Data, Effect } from "effect"
import { existsSync, readFileSync, renameSync, statSync } from "node:fs"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { firstDifference } from "../../data/first-difference.js"
import { runState } from "../jobs/plan.js"
import { type RunCommand, type RunLauncher, spawnIntoLog } from "../jobs/process.js"
import type { ProcessStep, ProgramName, TrainStep } from "./plan.js"

/** How each program of the plan is started: the training runs by their command, the other steps by their program. */
export type PaperPrograms = Readonly<Record<ProgramName, RunCommand>> & { readonly runs: RunLauncher }

/** One step did not finish; its log says why. */
export class PaperStepError extends Data.TaggedError("PaperStepError")<{
  readonly step: string
  readonly problem: string
  readonly log: string
}> {
  override get message(): string {
    return `step ${this.step} failed: ${this.problem}. Its output is in ${this.log}; fix the cause and start the plan again (finished steps are skipped).`
  }
}

/** Some steps failed; the report holds the others. */
export class PaperFailedError extends Data.TaggedError("PaperFailedError")<{
  readonly failures: ReadonlyArray<{ readonly step: string; readonly problem: string }>
  readonly total: number
  readonly report: string
}> {
  override get message(): string {
    return `${this.failures.length} of ${this.total} steps did not finish (${this.report} shows the rest):\n${this.failures.map((f) => `  - ${f.step}: ${f.problem}`).join("\n")}`
  }
}

const mtime = (path: string): number | null => {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}

export const stampFile = (step: ProcessStep) =>
  join(step.out, `.paper-${step.id.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`)
export const logFile = (step: ProcessStep) => join(step.out, `${step.id.replace(/[^A-Za-z0-9._-]+/g, "_")}.log`)

/**
 * Whether a process step is done: its stamp (written after the process succeeded) names the
 * same arguments, its outputs exist, and it is newer than every file it was made from.
 */
export const processStepState = (step: ProcessStep): { readonly done: boolean; readonly reason: string } => {
  const stamp = stampFile(step)
  const at = mtime(stamp)
  if (at === null) return { done: false, reason: "it has not run yet" }
  let recorded: unknown
  try {
    recorded = (JSON.parse(readFileSync(stamp, "utf8")) as { args?: unknown }).args
  } catch {
    return { done: false, reason: "its stamp does not parse" }
  }
  const diff = firstDifference(step.args, recorded)
  if (diff !== undefined) return { done: false, reason: `it ran with other arguments (${diff})` }
  const missing = step.outputs.find((f) => !existsSync(join(step.out, f)))
  if (missing !== undefined) return { done: false, reason: `${missing} is missing` }
  const stale = step.newerThan.find((f) => (mtime(f) ?? 0) > at)
  if (stale !== undefined) return { done: false, reason: `${stale} changed after it ran` }
  return { done: true, reason: "done" }
}

/** Whether a training run is finished: the sweep's check, and newer than the data it was trained on. */
export const trainStepState = (step: TrainStep) =>
  Effect.gen(function* () {
    const state = yield* runState(step.request.out, step.request.expected)
    if (!state.finished) return { done: false, reason: state.reason } as const
    const at = mtime(join(step.request.out, "summary.json")) ?? 0
    const stale = step.newerThan.find((f) => (mtime(f) ?? 0) > at)
    if (stale !== undefined) return { done: false, reason: `${stale} was rebuilt after it ran`, stale: true } as const
    return { done: true, reason: "done" } as const
  })

/** A summary.json older than the data it was trained on is set aside, so that the run is made again. */
export const setAsideStale = (step: TrainStep) =>
  Effect.sync(() => {
    const summary = join(step.request.out, "summary.json")
    if (existsSync(summary)) renameSync(summary, join(step.request.out, "summary.stale.json"))
  })

/**
 * One process step: the program with the step's arguments, its output appended to the step's
 * log, then the stamp that marks it done. Interrupting the effect stops the process.
 */
export const runProcessStep = (step: ProcessStep, programs: PaperPrograms): Effect.Effect<void, PaperStepError> =>
  Effect.gen(function* () {
    const log = logFile(step)
    yield* spawnIntoLog(
      programs[step.program],
      step.args,
      step.out,
      log,
      (problem) => new PaperStepError({ step: step.id, problem, log })
    )
    const missing = step.outputs.find((f) => !existsSync(join(step.out, f)))
    if (missing !== undefined)
      return yield* Effect.fail(
        new PaperStepError({ step: step.id, problem: `it exited normally but wrote no ${missing}`, log })
      )
    yield* writeFileAtomic(
      stampFile(step),
      JSON.stringify({ step: step.id, args: step.args, finished: new Date().toISOString() }, null, 2) + "\n"
    ).pipe(Effect.mapError((e) => new PaperStepError({ step: step.id, problem: e.message, log })))
  })
