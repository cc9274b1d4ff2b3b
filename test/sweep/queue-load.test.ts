/**
 * The queue under load: 30 jobs for 3 worker processes (`experiments/worker.ts --exit-when-idle
 * --root R`, from the sources as a person starts them), one worker SIGKILLed in the middle of a
 * run. Every job must finish exactly once (one start per run folder, one finished summary each),
 * none may be lost, and the killed run must continue on another worker from its last.safetensors
 * rather than from epoch 1.
 *
 * 29 runs are tiny (the mnist-small fixture, 2 epochs); the 30th, the one whose worker is killed,
 * trains long enough (3 epochs of 3,000 embedded digits) that the kill lands after its first
 * epoch was saved and before it ends, whatever the machine's load.
 */
import { Queue } from "bullmq"
import { Effect, Logger } from "effect"
import { Redis } from "ioredis"
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect } from "vitest"
import type { RunOutcome } from "../../src/pipeline/jobs/local.js"
import { planSweep, type RunRequest, type SweepSpec } from "../../src/pipeline/jobs/plan.js"
import { submitToQueue } from "../../src/pipeline/jobs/queue.js"
import { repoRoot, spawnCommand, until } from "../helpers/commands.js"
import { redisForTests } from "./redis.js"
import { tinySweep } from "./tiny-sweep.js"

const WORKERS = 3
const LAMBDAS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5]
const MODELS = ["sdl", "vdl", "wdl"]
/** About 2 minutes of CPU in all; the margin is for a machine busy with other work. */
const TIMEOUT_MS = 480_000

const collecting = (lines: string[]) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => lines.push(Array.isArray(message) ? message.join(" ") : String(message)))
  )

const count = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern.source, "gm"))?.length ?? 0

const readLog = (run: RunRequest): string => {
  try {
    return readFileSync(join(run.out, "run.log"), "utf8")
  } catch {
    return ""
  }
}

describe("the queue under load", () => {
  const redis = redisForTests()
  const { started } = redis

  redis.it(
    "30 jobs on 3 workers, one killed mid-run: every job finishes exactly once and the killed run continues from its last.safetensors",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "queue-load-"))
      const mnistDir = join(root, "data", "mnist-small")
      cpSync(join(repoRoot, "test", "fixtures", "mnist-small"), mnistDir, { recursive: true })
      const tiny = tinySweep(root, mnistDir, { models: MODELS, lambdas: LAMBDAS, epochs: 2 })
      const long: SweepSpec = {
        ...tiny,
        models: ["sdl"],
        lambdas: [LAMBDAS[0]],
        epochs: 3,
        source: { kind: "embedded" },
        trainSize: 3000,
        overrides: { codeDim: 64, batchSize: 20 },
        passthrough: ["--train-size", "3000", "--code-dim", "64", "--batch-size", "20", "--backend", "wasm"]
      }
      const [victim] = await Effect.runPromise(planSweep(long))
      // The long run first, so that a worker takes it at once.
      const runs = [victim, ...(await Effect.runPromise(planSweep(tiny))).filter((r) => r.name !== victim.name)]
      expect(runs).toHaveLength(30)

      const queueName = `load-${process.pid}-${Date.now()}`
      const target = { url: redis.url, name: queueName }
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(queueName, { connection })
      const t0 = performance.now()
      try {
        const submitterLog: string[] = []
        const submitted = Effect.runPromise(
          submitToQueue(runs, target, { root }).pipe(Effect.provide(collecting(submitterLog)))
        )
        await until("the 30 jobs on the queue", () => submitterLog.some((l) => l.includes("runs on queue")), 60_000)

        const workerArgs = [
          "--queue",
          redis.url,
          "--queue-name",
          queueName,
          "--root",
          root,
          "--exit-when-idle",
          "--lock-seconds",
          "3"
        ]
        const workers = Array.from({ length: WORKERS }, () => spawnCommand("experiments/worker.ts", workerArgs))
        started.push(...workers)

        // Killed once the long run has saved its first epoch: the run's log names the worker (its pid).
        await until(`${victim.name} to finish its first epoch`, () => /epoch 1\/3 /.test(readLog(victim)), 120_000)
        const pid = Number(/^--- .* \(pid (\d+)\)/m.exec(readLog(victim))![1])
        const doomed = workers.find((w) => w.child.pid === pid)!
        expect(doomed, `no worker has pid ${pid}`).toBeDefined()
        expect(existsSync(join(victim.out, "summary.json"))).toBe(false)
        doomed.child.kill("SIGKILL")
        await doomed.exited

        const outcomes: ReadonlyArray<RunOutcome> = await submitted
        const survivors = workers.filter((w) => w !== doomed)
        for (const w of survivors) expect((await w.exited).code, w.output()).toBe(0)
        const seconds = (performance.now() - t0) / 1000

        // Nothing lost: every run finished, once.
        expect(outcomes.map((o) => [o.run.name, o.status])).toEqual(runs.map((r) => [r.name, "ran"]))
        const counts = await queue.getJobCounts("completed", "failed", "waiting", "active", "delayed")
        expect(counts).toEqual({ completed: 30, failed: 0, waiting: 0, active: 0, delayed: 0 })
        const workerText = workers.map((w) => w.output()).join("\n")
        for (const run of runs) {
          const log = readLog(run)
          const name = run.name.replace(/\./g, "\\.")
          expect(existsSync(join(run.out, "summary.json")), run.name).toBe(true)
          // One finished run per folder: the run's last line, once.
          expect(count(log, /\| wrote /), `${run.name}:\n${log}`).toBe(1)
          const attempts = run === victim ? 2 : 1
          expect(count(log, /^--- .* \(pid \d+\)/), `${run.name}:\n${log}`).toBe(attempts)
          expect(count(workerText, new RegExp(`worker: started ${name}\\b`)), run.name).toBe(attempts)
        }

        // The killed run: its orphan stopped, and another worker continued it from the epoch its
        // last.safetensors holds: 2, or 3 where the orphan finished epoch 2 before it noticed.
        const log = readLog(victim)
        expect(log).toContain(`the process that started this run (pid ${pid}) is gone`)
        const resumed = new RegExp(
          `resuming ${victim.out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(sdl\\) at epoch (\\d) batch 0, for 3 epochs in all`
        ).exec(log)
        expect(resumed, log).not.toBeNull()
        const epoch = Number(resumed?.[1])
        expect([2, 3]).toContain(epoch)
        expect(count(log, /epoch 1\/3 /)).toBe(1)
        expect(count(log, /epoch 3\/3 /)).toBe(1)
        expect(workerText).toContain(
          `worker: started ${victim.name} (continuing from its last.safetensors at epoch ${epoch} batch 0)`
        )
        expect(submitterLog.join("\n")).toContain(`${victim.name} is back on the queue (its worker`)
        console.log(`queue load test: 30 jobs on ${WORKERS} workers (one killed) in ${seconds.toFixed(0)} s`)
      } finally {
        await queue.obliterate({ force: true }).catch(() => undefined)
        await queue.close()
        await connection.quit()
      }
    },
    TIMEOUT_MS
  )
})
