/**
 * The commands of experiments/ as a person runs them: started through tsx and run to their end,
 * or started and watched while they run; and the MNIST command run in this process, with the
 * outcome the shell would print.
 */
import { NodeContext } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { join } from "node:path"
import { mnistCli } from "../../src/cli/commands/train.js"
import { commandLineMessage } from "../../src/cli/options.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { quiet } from "./mnist-runs.js"

export const repoRoot = join(__dirname, "..", "..")

/** A script of experiments/ (its path from the repository root) run to its end, blocking this process. */
export const commandSync = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 240_000
  })

export interface Finished {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * A child process run to its end without blocking this one: a synchronous spawn would starve
 * vitest's own messages to its worker for as long as the command runs.
 */
export const runToEnd = (file: string, args: ReadonlyArray<string>, timeoutMs: number): Promise<Finished> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", reject)
    child.on("close", (status) => {
      clearTimeout(timer)
      resolvePromise({ status, stdout, stderr })
    })
  })

export interface Spawned {
  readonly child: ChildProcess
  /** Everything written to stdout and stderr so far, in the order it came. */
  readonly output: () => string
  /** Resolves once the output matches. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/** A script of experiments/ (its path from the repository root) started through tsx, to be watched while it runs. */
export const spawnCommand = (script: string, args: readonly string[]): Spawned => {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let text = ""
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = []
  const take = (chunk: string) => {
    text += chunk
    for (const w of waiters.filter((w) => w.pattern.test(text))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  child.stdout!.setEncoding("utf8").on("data", take)
  child.stderr!.setEncoding("utf8").on("data", take)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: performance.now() }))
  )
  const waitFor = (pattern: RegExp, timeoutMs = 240_000) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(text)) return resolve()
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${text}`)), timeoutMs)
      waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) })
      void exited.then(() => setTimeout(() => reject(new Error(`exited before ${pattern} appeared:\n${text}`)), 50))
    })
  return { child, output: () => text, waitFor, exited }
}

/** The outcome of the MNIST command run in this process: what the shell would print after "error: ". */
export const runCli = (...args: string[]) =>
  mnistCli(["node", "mnist", ...args]).pipe(
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return { ok: true as const, message: "" }
      const failure = Cause.failureOption(exit.cause)
      const value = Option.getOrUndefined(failure) as { _tag?: string; message?: string } | undefined
      // As the program prints it: library errors with their settings named as options.
      return {
        ok: false as const,
        tag: value?._tag ?? "defect",
        message: commandLineMessage(value) ?? value?.message ?? Cause.pretty(exit.cause)
      }
    })
  )

/** Waits until `ok()` holds, checking every 100 ms; fails after `timeoutMs` naming `what`. */
export const until = async (what: string, ok: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
