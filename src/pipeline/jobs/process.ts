import { Effect } from "effect"
import { spawn } from "node:child_process"
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs"
import { createRequire } from "node:module"
import { hostname } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { canonicalJson } from "../../data/canonical-json.js"
import { RunFolderTakenError } from "../errors.js"
import { readResumePoint } from "../train/resume.js"
import { SweepRunError } from "./errors.js"
import type { JobCommand } from "./job.js"
import { firstDifference } from "../../data/first-difference.js"
import { type FinishedSummary, type RunRequest, runState } from "./plan.js"

/** How a run is started: the program and what comes before the run's own arguments. */
export interface RunCommand {
  readonly executable: string
  readonly prefix: ReadonlyArray<string>
  readonly cwd: string
}

/** The program for each kind of run (train, train-data or patches-train); a single RunCommand serves every run. */
export type RunLauncher = (command: JobCommand) => RunCommand

export const commandFor = (launcher: RunCommand | RunLauncher, run: RunRequest): RunCommand =>
  typeof launcher === "function" ? launcher(run.command ?? "train") : launcher

const here = import.meta.url
const require = createRequire(here)

/**
 * `node --import tsx <script>`, with the guard that stops the run when its starter dies. The tsx
 * loader is given by absolute path so that the run starts from any working directory.
 */
export const tsxScriptCommand = (script: string, cwd: string): RunCommand => ({
  executable: process.execPath,
  prefix: [
    "--import",
    pathToFileURL(require.resolve("tsx")).href,
    "--import",
    new URL(`./exit-with-parent${here.endsWith(".ts") ? ".ts" : ".js"}`, here).href,
    script
  ],
  cwd
})

export const LOG_FILE = "run.log"

const logTail = (path: string, lines = 10): string => {
  try {
    const text = readFileSync(path, "utf8").trimEnd().split("\n")
    return text.slice(-lines).join("\n    ")
  } catch {
    return "(the log cannot be read)"
  }
}

/** How long a process asked to stop may take to write its last files before it is killed. */
const STOP_GRACE_MS = 10_000

/**
 * Start `command` with `args` as its own process, its output appended to `log` (the folder `dir`
 * made first, and a line naming the command written before the output), and wait for it to exit.
 * The process gets the log file itself, not a pipe, so that what it prints last is kept even if
 * this process is killed first. Fails with `fail(problem)` when the folder cannot be written, the
 * process cannot start, or it does not exit with code 0 (the problem then quotes the log's end).
 * Interrupting the effect stops the process. Sweep runs and the paper's other steps start here.
 */
export const spawnIntoLog = <E>(
  command: RunCommand,
  args: ReadonlyArray<string>,
  dir: string,
  log: string,
  fail: (problem: string) => E
): Effect.Effect<void, E> =>
  Effect.gen(function* () {
    const fd = yield* Effect.try({
      try: () => {
        mkdirSync(dir, { recursive: true })
        const fd = openSync(log, "a")
        writeSync(
          fd,
          `--- ${new Date().toISOString()} on ${hostname()} (pid ${process.pid}): ${[command.executable, ...command.prefix, ...args].join(" ")}\n`
        )
        return fd
      },
      catch: (e) => fail(`cannot write its folder (${e instanceof Error ? e.message : String(e)})`)
    })
    const exit = yield* Effect.async<{ code: number | null; signal: NodeJS.Signals | null }, E>((resume) => {
      let child: ReturnType<typeof spawn>
      try {
        child = spawn(command.executable, [...command.prefix, ...args], {
          cwd: command.cwd,
          stdio: ["ignore", fd, fd],
          // Processes go side by side (--parallel, or several workers on a machine): one BLAS thread
          // each unless the person says otherwise, instead of every process taking every core.
          env: { SPARSE_VDL_BLAS_THREADS: "1", ...process.env, SPARSE_VDL_PARENT_PID: String(process.pid) }
        })
      } catch (e) {
        // Thrown rather than emitted: an argument list too long for the system (E2BIG), for one.
        resume(
          Effect.fail(
            fail(
              `cannot start ${command.executable} (${e instanceof Error ? e.message : String(e)}); ${log} holds the command line`
            )
          )
        )
        return
      }
      let exited = false
      child.once("error", (e) => {
        exited = true
        resume(Effect.fail(fail(`cannot start ${command.executable} (${e.message})`)))
      })
      child.once("exit", (code, signal) => {
        exited = true
        resume(Effect.succeed({ code, signal }))
      })
      return Effect.async<void>((stopped) => {
        if (exited) return stopped(Effect.void)
        child.once("exit", () => stopped(Effect.void))
        child.kill("SIGTERM")
        setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS).unref()
      })
    }).pipe(Effect.ensuring(Effect.sync(() => closeSync(fd))))
    if (exit.code !== 0) {
      const how = exit.signal !== null ? `it was stopped by ${exit.signal}` : `it exited with code ${exit.code}`
      return yield* Effect.fail(fail(`${how}; the log ends:\n    ${logTail(log)}\n `))
    }
  })

/**
 * Run one sweep run as its own process (spawnIntoLog), its output appended to run.log in the run
 * folder, and read back its summary. Interrupting the effect stops the process.
 */
export const spawnRun = (
  run: RunRequest,
  launcher: RunCommand | RunLauncher
): Effect.Effect<FinishedSummary, SweepRunError> =>
  Effect.gen(function* () {
    const log = join(run.out, LOG_FILE)
    const fail = (problem: string) => new SweepRunError({ run: run.name, problem, log })
    yield* spawnIntoLog(commandFor(launcher, run), run.args, run.out, log, fail)
    const state = yield* runState(run.out, run.expected)
    if (!state.finished) return yield* Effect.fail(fail(`it exited normally but ${state.reason}`))
    return state.summary
  })

/**
 * A run to continue rather than start again: its folder holds the last.safetensors of this very
 * run (model, seed, settings, data and backend as requested), left by a process that was stopped
 * or killed. Then the run gets --resume, so that it goes on from where that state stands; the
 * train command given the folder without it would start from epoch 1. train-data cannot resume,
 * so its runs start again. A folder that holds another run (a finished one of other settings or
 * epochs, the state of another run, or files whose run cannot be told) belongs to that run: the
 * job is refused with RunFolderTakenError, naming it and what differs, unless its arguments hold
 * --overwrite, which the submitter adds only when asked to (sweep --overwrite).
 */
export const continuation = (
  run: RunRequest
): Effect.Effect<
  { readonly run: RunRequest; readonly from: string | null; readonly note: string | null },
  RunFolderTakenError
> =>
  Effect.gen(function* () {
    const overwrite = run.args.includes("--overwrite")
    const fresh = (note: string | null) => ({ run, from: null, note })
    const taken = (found: string, differs: string, resumable: boolean) =>
      overwrite
        ? Effect.succeed(
            fresh(
              `its folder holds another run (${found}: ${differs}); starting afresh, replacing it, as --overwrite asks`
            )
          )
        : Effect.fail(new RunFolderTakenError({ folder: run.out, run: found, differs, resumable }))
    const command = run.command ?? "train"
    const expected = run.expected
    const data = expected.data
    const resumable =
      (command === "train" && data._tag === "mnist") || (command === "patches-train" && data._tag === "file")
    // A finished run whose summary.json is not this run's: continued only when its state is this
    // run's with fewer epochs (then the epochs it has are kept, and it goes on to the rest).
    const state = yield* runState(run.out, expected)
    const otherSummary = !state.finished && !state.reason.startsWith("it has no summary.json") ? state.reason : null
    const read = yield* Effect.either(readResumePoint(run.out))
    if (read._tag === "Left") {
      if (read.left._tag === "ResumeError" && /has no last\.safetensors|does not exist/.test(read.left.message)) {
        return otherSummary === null ? fresh(null) : yield* taken("a finished run", otherSummary, false)
      }
      return yield* taken(
        "a run whose state cannot be read",
        `its state cannot be continued (${read.left.message})`,
        false
      )
    }
    const { snapshot, progress } = read.right
    const trainSizeArg = run.args.indexOf("--train-size")
    const recorded = progress.describe as {
      readonly mnist?: unknown
      readonly patchFile?: unknown
      readonly trainSize?: unknown
      readonly arrow?: { readonly file?: unknown }
      readonly images?: { readonly dir?: unknown }
    }
    const recordedFile = command === "train-data" ? (recorded.arrow?.file ?? recorded.images?.dir) : recorded.patchFile
    const differs =
      snapshot.model !== expected.model
        ? `it is a run of ${snapshot.model}`
        : progress.seed !== expected.seed
          ? `its seed is ${progress.seed}`
          : canonicalJson({ ...snapshot.settings, epochs: 0 }) !== canonicalJson({ ...expected.settings, epochs: 0 })
            ? `its settings differ (${firstDifference({ ...expected.settings, epochs: 0 }, { ...snapshot.settings, epochs: 0 }, "settings")})`
            : data._tag === "mnist"
              ? firstDifference(
                  { mnist: data.mnist, trainSize: data.trainSize },
                  { mnist: recorded.mnist, trainSize: recorded.trainSize },
                  "data"
                )
              : typeof recordedFile !== "string" || resolve(recordedFile) !== resolve(data.path)
                ? `it was trained on ${String(recordedFile)}, not ${data.path}`
                : command === "patches-train"
                  ? firstDifference(
                      { trainSize: trainSizeArg < 0 ? null : Number(run.args[trainSizeArg + 1]) },
                      { trainSize: recorded.trainSize },
                      "data"
                    )
                  : undefined
    const backend =
      expected.backend !== null && progress.backend !== expected.backend ? `it ran on ${progress.backend}` : undefined
    const epochs = progress.next.epoch > expected.epochs ? `it is past epoch ${expected.epochs}` : undefined
    const reason = differs ?? backend ?? epochs
    const stopped = `stopped after ${progress.next.epoch} of ${progress.epochs} epochs${progress.next.batch > 0 ? ` and ${progress.next.batch} batches` : ""}`
    const found = `${state.finished || otherSummary !== null ? "a finished run" : "the stopped run"} of ${snapshot.model}, seed ${progress.seed}, ${progress.epochs} epochs, λ ${snapshot.settings.lambda}${otherSummary === null ? `, ${stopped}` : ""}`
    if (reason !== undefined) return yield* taken(found, reason, false)
    if (!resumable) return otherSummary === null ? fresh(null) : yield* taken("a finished run", otherSummary, false)
    const from = `epoch ${progress.next.epoch + 1} batch ${progress.next.batch}`
    return { run: { ...run, args: [...run.args, "--resume", run.out] }, from, note: null }
  })
