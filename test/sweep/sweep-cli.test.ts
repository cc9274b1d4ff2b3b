/**
 * The sweep as a person runs it: experiments/sweep.ts on this machine with --parallel 2, then the
 * same sweep through a real Redis queue with two worker processes, the first killed (SIGKILL)
 * in the middle of a job that the second then completes. Runs are deterministic given the seed
 * and backend, so both summaries must hold the same figures.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Queue } from "bullmq"
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { readArrowIpc } from "../../src/data/table.js"
import { spawnCommand, until } from "../helpers/commands.js"
import { redisForTests } from "./redis.js"

/** Tiny runs: one batch of training, 8 code components. */
const RUN_OPTIONS = [
  "--model",
  "sdl,vdl",
  "--lambda",
  "0.01",
  "--epochs",
  "1",
  "--train-size",
  "250",
  "--code-dim",
  "8",
  "--backend",
  "wasm"
]

/** Processes whose parent is `pid` and whose command line holds `part`, from /proc (Linux, where these tests run). */
const childrenOf = (pid: number, part: string): number[] =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8")
        return (
          Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid &&
          readFileSync(`/proc/${name}/cmdline`, "utf8").includes(part)
        )
      } catch {
        return false
      }
    })
    .map(Number)

/** The summary without the timings, which are the only figures allowed to differ. */
const figures = (dir: string) =>
  readArrowIpc(new Uint8Array(readFileSync(join(dir, "summary.arrow")))).map(({ secondsPerEpoch: _, ...rest }) => rest)

/** Each test's processes take ~25 s of CPU; the margin is for a machine busy with other work. */
const TIMEOUT_MS = 480_000

const root = mkdtempSync(join(tmpdir(), "sweep-cli-"))
const localOut = join(root, "local")
const queueOut = join(root, "queue")

describe("experiments/sweep.ts", () => {
  const redis = redisForTests()
  const { started } = redis

  it(
    "runs every combination locally, two at once, writes the summary and figure, and skips finished runs when started again",
    async () => {
      const first = spawnCommand("experiments/sweep.ts", [...RUN_OPTIONS, "--parallel", "2", "--out", localOut])
      started.push(first)
      expect((await first.exited).code, first.output()).toBe(0)
      expect(first.output()).toMatch(/started sdl-lambda0\.01 \(0\/2 done, 1 running/)
      expect(first.output()).toMatch(/started vdl-lambda0\.01 \(0\/2 done, 2 running/)
      for (const f of [
        "summary.arrow",
        "summary.csv",
        "summary.md",
        "psnr-vs-sparsity.svg",
        "sdl-lambda0.01/summary.json",
        "vdl-lambda0.01/run.log"
      ]) {
        expect(existsSync(join(localOut, f)), f).toBe(true)
      }
      const rows = figures(localOut)
      expect(rows.map((r) => [r.run, r.status])).toEqual([
        ["sdl-lambda0.01", "finished"],
        ["vdl-lambda0.01", "finished"]
      ])
      for (const r of rows) expect(Number(r.valPsnr)).toBeGreaterThan(5)

      const again = spawnCommand("experiments/sweep.ts", [...RUN_OPTIONS, "--parallel", "2", "--out", localOut])
      started.push(again)
      expect((await again.exited).code, again.output()).toBe(0)
      expect(again.output()).toContain("sdl-lambda0.01 finished earlier")
      expect(again.output()).toContain("vdl-lambda0.01 finished earlier")
      expect(again.output()).not.toContain("started")
      expect(figures(localOut)).toEqual(rows)
    },
    TIMEOUT_MS
  )

  redis.it(
    "runs the same sweep through the queue; a worker killed mid-job loses it to another, and the summary is the same",
    async () => {
      const queueName = `test-${process.pid}-${Date.now()}`
      const queueArgs = ["--queue", redis.url, "--queue-name", queueName]
      const submitter = spawnCommand("experiments/sweep.ts", [...RUN_OPTIONS, ...queueArgs, "--out", queueOut])
      started.push(submitter)
      await submitter.waitFor(/runs on queue/, 60_000)
      expect(submitter.output()).toContain(
        `start workers with: sparse-vdl worker --queue ${redis.url} --queue-name ${queueName} --root ${queueOut}`
      )

      // The first worker takes a job and is killed once its run process has started.
      const doomed = spawnCommand("experiments/worker.ts", [...queueArgs, "--root", queueOut, "--lock-seconds", "2"])
      started.push(doomed)
      await doomed.waitFor(/worker: started (\S+)/, 60_000)
      const victim = /worker: started (\S+)/.exec(doomed.output())![1]
      // The worker writes run.log before it starts the run's process: killing it in between would
      // leave no orphan to stop itself. (Its other child is tsx's esbuild service.)
      await until(
        "its run to start",
        () =>
          existsSync(join(queueOut, victim, "run.log")) &&
          childrenOf(doomed.child.pid!, "experiments/mnist.ts").length > 0,
        30_000
      )
      doomed.child.kill("SIGKILL")
      await doomed.exited

      const survivor = spawnCommand("experiments/worker.ts", [
        ...queueArgs,
        "--root",
        queueOut,
        "--lock-seconds",
        "2",
        "--exit-when-idle"
      ])
      started.push(survivor)
      expect((await submitter.exited).code, submitter.output()).toBe(0)
      expect((await survivor.exited).code, survivor.output()).toBe(0)
      expect(survivor.output()).toContain(`worker: finished ${victim}`)
      expect(submitter.output()).toContain(
        `${victim} is back on the queue (its worker ${hostname()}:${doomed.child.pid} stopped)`
      )
      // Two attempts in the victim's log, from the two workers; the orphaned run stopped itself.
      const log = readFileSync(join(queueOut, victim, "run.log"), "utf8")
      expect(log.match(/^--- .* \(pid \d+\)/gm)).toHaveLength(2)
      expect(log).toContain(`(pid ${doomed.child.pid})`)
      expect(log).toContain(`(pid ${survivor.child.pid})`)
      expect(log).toContain(`the process that started this run (pid ${doomed.child.pid}) is gone`)

      expect(figures(queueOut)).toEqual(figures(localOut))

      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(queueName, { connection })
      const counts = await queue.getJobCounts("completed", "failed", "waiting", "active")
      expect(counts).toEqual({ completed: 2, failed: 0, waiting: 0, active: 0 })
      await queue.obliterate({ force: true })
      await queue.close()
      await connection.quit()
    },
    TIMEOUT_MS
  )
})
