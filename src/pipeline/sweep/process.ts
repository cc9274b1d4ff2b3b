import { Effect } from "effect"
import { spawn } from "node:child_process"
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs"
import { createRequire } from "node:module"
import { hostname } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { SweepRunError } from "./errors.js"
import { type FinishedSummary, type RunRequest, runState } from "./plan.js"

/** How a run is started: the program and what comes before the run's own arguments. */
export interface RunCommand {
  readonly executable: string
  readonly prefix: ReadonlyArray<string>
  readonly cwd: string
}

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

/** How long a run asked to stop may take to write its last files before it is killed. */
const STOP_GRACE_MS = 10_000

/**
 * Run one sweep run as its own process, its output appended to run.log in the run folder, and
 * read back its summary. The process gets the log file itself, not a pipe, so that what it prints
 * last is kept even if this process is killed first. Interrupting the effect stops the process.
 */
export const spawnRun = (run: RunRequest, command: RunCommand): Effect.Effect<FinishedSummary, SweepRunError> =>
  Effect.gen(function* () {
    const log = join(run.out, LOG_FILE)
    const fd = yield* Effect.try({
      try: () => {
        mkdirSync(run.out, { recursive: true })
        const fd = openSync(log, "a")
        writeSync(fd, `--- ${new Date().toISOString()} on ${hostname()} (pid ${process.pid}): ${[command.executable, ...command.prefix, ...run.args].join(" ")}\n`)
        return fd
      },
      catch: (e) => new SweepRunError({ run: run.name, problem: `cannot write its folder (${e instanceof Error ? e.message : String(e)})`, log })
    })
    const exit = yield* Effect.async<{ code: number | null; signal: NodeJS.Signals | null }, SweepRunError>((resume) => {
      const child = spawn(command.executable, [...command.prefix, ...run.args], {
        cwd: command.cwd,
        stdio: ["ignore", fd, fd],
        // Runs go side by side (--parallel, or several workers on a machine): one BLAS thread
        // each unless the person says otherwise, instead of every run taking every core.
        env: { SPARSE_VDL_BLAS_THREADS: "1", ...process.env, SPARSE_VDL_PARENT_PID: String(process.pid) }
      })
      let exited = false
      child.once("error", (e) => {
        exited = true
        resume(Effect.fail(new SweepRunError({ run: run.name, problem: `cannot start ${command.executable} (${e.message})`, log })))
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
      return yield* Effect.fail(new SweepRunError({ run: run.name, problem: `${how}; the log ends:\n    ${logTail(log)}\n `, log }))
    }
    const state = yield* runState(run.out, run.expected)
    if (!state.finished) {
      return yield* Effect.fail(new SweepRunError({ run: run.name, problem: `it exited normally but ${state.reason}`, log }))
    }
    return state.summary
  })
