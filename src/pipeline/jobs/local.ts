import { Effect } from "effect"
import { SweepRunError } from "./errors.js"
import { type FinishedSummary, type RunRequest, runState } from "./plan.js"
import { continuation, type RunCommand, type RunLauncher, spawnRun } from "./process.js"

/** What became of one run of a sweep. */
export type RunOutcome =
  | { readonly run: RunRequest; readonly status: "ran" | "skipped"; readonly summary: FinishedSummary }
  | { readonly run: RunRequest; readonly status: "failed"; readonly error: SweepRunError }

export const describeResult = (s: FinishedSummary): string =>
  `val PSNR ${s.val.psnr.toFixed(2)} dB, zeros ${s.val.zeroFraction.toFixed(3)}`

/**
 * Runs already finished (a summary.json of the same settings) are not run again; a folder that
 * holds something else is named with the reason (whether the run may replace it is continuation's
 * to say).
 */
export const splitFinished = (runs: ReadonlyArray<RunRequest>) =>
  Effect.gen(function* () {
    const skipped: RunOutcome[] = []
    const pending: RunRequest[] = []
    for (const run of runs) {
      const state = yield* runState(run.out, run.expected)
      if (state.finished) {
        skipped.push({ run, status: "skipped", summary: state.summary })
        yield* Effect.logInfo(`sweep: ${run.name} finished earlier (${describeResult(state.summary)}); skipped`)
      } else {
        pending.push(run)
        if (!state.reason.startsWith("it has no summary.json"))
          yield* Effect.logInfo(`sweep: ${run.name} is not done: ${state.reason}`)
      }
    }
    return { skipped, pending }
  })

/** Results in the order the runs were planned, whatever order they finished in. */
export const inPlanOrder = (runs: ReadonlyArray<RunRequest>, outcomes: ReadonlyArray<RunOutcome>): RunOutcome[] =>
  runs.map((run) => outcomes.find((o) => o.run.name === run.name)!)

/**
 * Every run as its own process on this machine, at most `parallel` at once, with a line of
 * overall progress as each starts and ends. A failed run does not stop the others; a run whose
 * folder holds its own stopped state continues from it (process.ts continuation).
 */
export const runLocal = (
  runs: ReadonlyArray<RunRequest>,
  options: { readonly parallel: number; readonly command: RunCommand | RunLauncher }
) =>
  Effect.gen(function* () {
    const { skipped, pending } = yield* splitFinished(runs)
    const total = runs.length
    let done = skipped.length
    let running = 0
    const status = () =>
      `${done}/${total} done, ${running} running, ${pending.length - running - (done - skipped.length)} waiting`
    if (pending.length > 0)
      yield* Effect.logInfo(`sweep: ${pending.length} of ${total} runs to do, at most ${options.parallel} at once`)
    const ran = yield* Effect.forEach(
      pending,
      (run) =>
        Effect.gen(function* () {
          const claimed = yield* Effect.either(continuation(run))
          if (claimed._tag === "Left") {
            done += 1
            const error = new SweepRunError({
              run: run.name,
              problem: `it did not start: ${claimed.left.message}`,
              log: null
            })
            yield* Effect.logWarning(`sweep: ${run.name} cannot start (${status()}): ${claimed.left.message}`)
            return { run, status: "failed", error } satisfies RunOutcome
          }
          const go = claimed.right
          if (go.note !== null) yield* Effect.logInfo(`sweep: ${run.name}: ${go.note}`)
          running += 1
          yield* Effect.logInfo(
            `sweep: started ${run.name}${go.from === null ? "" : `, continuing its stopped run at ${go.from}`} (${status()})`
          )
          const started = performance.now()
          const result = yield* Effect.either(spawnRun(go.run, options.command))
          running -= 1
          done += 1
          const seconds = ((performance.now() - started) / 1000).toFixed(0)
          if (result._tag === "Right") {
            yield* Effect.logInfo(
              `sweep: finished ${run.name} in ${seconds} s: ${describeResult(result.right)} (${status()})`
            )
            return { run, status: "ran", summary: result.right } satisfies RunOutcome
          }
          yield* Effect.logWarning(`sweep: ${run.name} failed after ${seconds} s (${status()}): ${result.left.message}`)
          return { run, status: "failed", error: result.left } satisfies RunOutcome
        }),
      { concurrency: options.parallel }
    )
    return inPlanOrder(runs, [...skipped, ...ran])
  })
