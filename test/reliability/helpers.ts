/**
 * Shared by the reliability tests: a small slice of the embedded digits, small settings, the
 * test environment, the MNIST command run in-process, and the command spawned as a person runs it.
 */
import { NodeContext } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Logger, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { mnistCli } from "../../experiments/mnist.js"
import { readArrowIpc } from "../../src/data/table.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { type BackendName, BackendLive } from "../../src/pipeline/backend.js"
import { mapSplits } from "../../src/pipeline/dataset.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../../src/pipeline/mnist.js"
import { ProgressSilent } from "../../src/pipeline/progress.js"

export const repoRoot = join(__dirname, "..", "..")

const quiet = Logger.replace(Logger.defaultLogger, Logger.none)

export const env = (backend: BackendName = "wasm") => Layer.mergeAll(NodeContext.layer, ProgressSilent, BackendLive(backend), quiet)

/** The embedded digits as experiments/mnist.ts splits them with --train-size and --seed. */
export const cliData = (train: number, seed: number) =>
  loadMnist({ kind: "embedded" }).pipe(Effect.map((data) => mapSplits(splitStage(seed, train)(data), (s, name) => normalizeMnistStage(name)(s))))

/** The embedded digits cut to `train` training rows and 100 validation and test rows. */
export const smallData = (train: number, seed = 5) =>
  cliData(train, seed).pipe(
    Effect.map((s) => ({ ...s, val: { ...s.val, rows: 100, x: s.val.x.subarray(0, 100 * 784) }, test: { ...s.test, rows: 100, x: s.test.x.subarray(0, 100 * 784) } }))
  )

export const smallSettings = (model: string, overrides: Partial<ModelSettings> = {}): ModelSettings => ({
  ...variants[model].settings.mnist,
  codeDim: 16,
  batchSize: 50,
  ...overrides
})

/** metrics.arrow's rows without the wall-clock columns, which no two runs share. */
export const metricsWithoutTimes = (folder: string) =>
  readArrowIpc(new Uint8Array(readFileSync(join(folder, "metrics.arrow")))).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest)

/** The outcome of the MNIST command run in this process: what the shell would print after "error: ". */
export const runCli = (...args: string[]) =>
  mnistCli(["node", "mnist", ...args]).pipe(
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return { ok: true as const, message: "" }
      const failure = Cause.failureOption(exit.cause)
      const value = Option.getOrUndefined(failure) as { _tag?: string; message?: string } | undefined
      return { ok: false as const, tag: value?._tag ?? "defect", message: value?.message ?? Cause.pretty(exit.cause) }
    })
  )

export interface Spawned {
  readonly child: ChildProcess
  /** Everything written to stderr so far. */
  readonly stderr: () => string
  /** Resolves once stderr matches. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/** experiments/mnist.ts started as a person starts it, through tsx. */
export const spawnMnist = (args: readonly string[]): Spawned => {
  const child = spawn(process.execPath, ["--import", "tsx", "experiments/mnist.ts", ...args], { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] })
  let text = ""
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = []
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    text += chunk
    for (const w of waiters.filter((w) => w.pattern.test(text))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  })
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
  return { child, stderr: () => text, waitFor, exited }
}

/** Every checkpoint file in a folder, temp files of unfinished writes apart. */
export const checkpointFiles = (folder: string) => readdirSync(folder).filter((n) => n.endsWith(".safetensors") && !n.startsWith("."))
