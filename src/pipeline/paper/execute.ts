/**
 * Carrying out a plan: every step waits for the steps it needs, at most `parallel` processes run
 * at once on this machine, training runs go through the sweep's runner (or, with a queue, MNIST
 * runs go to the workers), and a failed step stops only the steps that need it.
 */
import { Deferred, Effect } from "effect"
import { runLocal } from "../jobs/local.js"
import { submitToQueue, type QueueTarget } from "../jobs/queue.js"
import type { RunOutcome } from "../jobs/local.js"
import type { PaperPlan, Step, TrainStep } from "./plan.js"
import { type PaperPrograms, processStepState, runProcessStep, setAsideStale, trainStepState } from "./steps.js"

export type StepStatus = "ran" | "skipped" | "failed" | "blocked"

export interface StepOutcome {
  readonly step: Step
  readonly status: StepStatus
  /** Why it failed or was blocked. */
  readonly problem?: string
  readonly seconds: number
}

export interface ExecuteOptions {
  readonly parallel: number
  readonly programs: PaperPrograms
  /** Training runs (MNIST and patches) go to this job queue instead of running here. */
  readonly queue?: QueueTarget
}

const describeStep = (s: Step) => (s.kind === "train" ? `${s.id} (λ ${s.request.lambda})` : s.id)

export const executePlan = (plan: PaperPlan, options: ExecuteOptions) =>
  Effect.gen(function* () {
    const permits = yield* Effect.makeSemaphore(options.parallel)
    const results = new Map<string, Deferred.Deferred<StepOutcome>>()
    for (const step of plan.steps) results.set(step.id, yield* Deferred.make<StepOutcome>())
    const total = plan.steps.length
    let finished = 0
    const note = (o: StepOutcome) =>
      Effect.gen(function* () {
        finished += 1
        const where = `(${finished}/${total})`
        if (o.status === "ran")
          yield* Effect.logInfo(`paper: ${describeStep(o.step)} done in ${o.seconds.toFixed(0)} s ${where}`)
        else if (o.status === "skipped")
          yield* Effect.logDebug(`paper: ${describeStep(o.step)} was done already ${where}`)
        else
          yield* Effect.logWarning(
            `paper: ${describeStep(o.step)} ${o.status === "failed" ? "failed" : "cannot run"}: ${o.problem} ${where}`
          )
      })

    // With a queue, the training runs of a data set are submitted at once, when the first of them
    // is due (the patch runs after the patch file is built: a worker refuses a job whose input it
    // cannot find); each run's step waits for its own outcome. The jobs' paths are relative to the
    // plan's folder, the one --root every worker is given.
    const submission = (dataset: TrainStep["dataset"]) =>
      Effect.cached(
        // A worker continues a run interrupted before from its last.safetensors (sweep/process.ts continuation).
        submitToQueue(
          plan.steps.filter((s): s is TrainStep => s.kind === "train" && s.dataset === dataset).map((s) => s.request),
          options.queue as QueueTarget,
          { root: plan.spec.out }
        ).pipe(Effect.either)
      )
    const queueOutcomes =
      options.queue === undefined ? null : { mnist: yield* submission("mnist"), patches: yield* submission("patches") }

    const trainOnce = (step: TrainStep): Effect.Effect<{ ok: boolean; problem?: string; seconds?: number }> =>
      Effect.gen(function* () {
        if (queueOutcomes !== null) {
          const all = yield* queueOutcomes[step.dataset]
          if (all._tag === "Left") return { ok: false, problem: all.left.message }
          const mine = all.right.find((o) => o.run.name === step.request.name)
          return mine === undefined || mine.status === "failed"
            ? { ok: false, problem: mine?.status === "failed" ? mine.error.message : "the queue lost it" }
            : { ok: true }
        }
        // runLocal continues an interrupted run of the same plan from its last.safetensors.
        const request = step.request
        const { outcome, seconds } = yield* permits.withPermits(1)(
          Effect.gen(function* () {
            const started = performance.now()
            const [outcome] = yield* runLocal([request], { parallel: 1, command: options.programs.runs })
            return { outcome: outcome as RunOutcome, seconds: (performance.now() - started) / 1000 }
          })
        )
        return outcome.status === "failed"
          ? { ok: false, problem: outcome.error.message, seconds }
          : { ok: true, seconds }
      })

    const runStep = (step: Step): Effect.Effect<StepOutcome> =>
      Effect.gen(function* () {
        const needs = yield* Effect.forEach(step.deps, (id) =>
          Deferred.await(results.get(id) as Deferred.Deferred<StepOutcome>)
        )
        const missing = needs.find((d) => d.status === "failed" || d.status === "blocked")
        if (missing !== undefined)
          return {
            step,
            status: "blocked",
            problem: `it needs ${missing.step.id}, which did not finish`,
            seconds: 0
          } satisfies StepOutcome
        const started = performance.now()
        const seconds = () => (performance.now() - started) / 1000
        if (step.kind === "train") {
          const state = yield* trainStepState(step)
          if (state.done) return { step, status: "skipped", seconds: 0 } satisfies StepOutcome
          if ("stale" in state) {
            yield* Effect.logInfo(`paper: ${step.id} runs again: ${state.reason}`)
            yield* setAsideStale(step)
          }
          const r = yield* trainOnce(step)
          return {
            step,
            status: r.ok ? "ran" : "failed",
            ...(r.problem === undefined ? {} : { problem: r.problem }),
            seconds: r.seconds ?? seconds()
          } satisfies StepOutcome
        }
        const state = processStepState(step)
        if (state.done) return { step, status: "skipped", seconds: 0 } satisfies StepOutcome
        if (state.reason !== "it has not run yet")
          yield* Effect.logInfo(`paper: ${step.id} runs again: ${state.reason}`)
        const { r, took } = yield* permits.withPermits(1)(
          Effect.gen(function* () {
            yield* Effect.logInfo(`paper: started ${describeStep(step)}`)
            const began = performance.now()
            const r = yield* Effect.either(runProcessStep(step, options.programs))
            return { r, took: (performance.now() - began) / 1000 }
          })
        )
        return r._tag === "Right"
          ? ({ step, status: "ran", seconds: took } satisfies StepOutcome)
          : ({ step, status: "failed", problem: r.left.message, seconds: took } satisfies StepOutcome)
      }).pipe(
        Effect.tap((o) => note(o)),
        Effect.tap((o) => Deferred.succeed(results.get(step.id) as Deferred.Deferred<StepOutcome>, o))
      )

    yield* Effect.logInfo(
      `paper: ${total} steps (${plan.steps.filter((s) => s.kind === "train").length} training runs), at most ${options.parallel} at once${options.queue === undefined ? "" : `; MNIST runs on queue ${options.queue.name} at ${options.queue.url}`}`
    )
    return yield* Effect.forEach(plan.steps, runStep, { concurrency: "unbounded" })
  })
