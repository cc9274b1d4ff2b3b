/**
 * Jobs pushed straight into Redis (BullMQ's Queue.add), as anyone who reaches the server could:
 * a worker (`experiments/worker.ts --root R`) refuses each hostile one at once, unretried, with a
 * reason naming the problem, and writes nothing outside R; it runs a proper job, and reports the
 * run.log of one that fails. The server requires a password (redis://default:PASSWORD@…), which
 * no log or message may show.
 */
import { Field, FixedSizeList, Float32, makeData, RecordBatch, Schema, Struct, Table, tableToIPC } from "apache-arrow"
import { Queue } from "bullmq"
import { Effect, Either, Logger } from "effect"
import { Redis } from "ioredis"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect } from "vitest"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import { type RunJob, toJob } from "../../src/pipeline/jobs/job.js"
import type { RunOutcome } from "../../src/pipeline/jobs/local.js"
import { planSweep } from "../../src/pipeline/jobs/plan.js"
import { submitToQueue } from "../../src/pipeline/jobs/queue.js"
import { repoRoot, spawnCommand } from "../helpers/commands.js"
import { redisForTests } from "./redis.js"
import { tinySweep } from "./tiny-sweep.js"

const PASSWORD = "s3cret-pw"
const fixture = join(repoRoot, "test", "fixtures", "mnist-small")
const TIMEOUT_MS = 240_000

/** An Arrow file of `rows` vectors of 4×4 pixels in [0, 1], as train-data --arrow reads. */
const writeVectors = (path: string, rows: number) => {
  const dim = 16
  const values = Float32Array.from({ length: rows * dim }, (_, i) => (Math.sin(i * 0.37) + 1) / 2)
  const type = new FixedSizeList(dim, new Field("item", new Float32(), false))
  const schema = new Schema([new Field("pixels", type, false, new Map([["shape", "4,4"]]))])
  const column = makeData({
    type,
    length: rows,
    nullCount: 0,
    child: makeData({ type: new Float32(), length: values.length, data: values })
  })
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [column] })
  )
  writeFileSync(path, tableToIPC(new Table([batch]), "file"))
}

/** Log lines of an effect run here, kept to be read rather than printed. */
const collecting = (lines: string[]) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => lines.push(Array.isArray(message) ? message.join(" ") : String(message)))
  )

describe("the worker and jobs pushed straight into the queue", () => {
  const redis = redisForTests({ password: PASSWORD })
  const { started } = redis

  redis.it(
    "refuses hostile jobs with the reason, writes nothing outside its root, runs a proper job and names the log of a failed one",
    async () => {
      expect(redis.url).toContain(`default:${PASSWORD}@`)
      const base = mkdtempSync(join(tmpdir(), "queue-safety-"))
      const root = join(base, "root")
      const outside = join(base, "outside")
      mkdirSync(outside)
      const mnistDir = join(root, "data", "mnist-small")
      cpSync(fixture, mnistDir, { recursive: true })
      symlinkSync(outside, join(root, "link"))
      const queueName = `safety-${process.pid}-${Date.now()}`

      const spec = (lambda: number, batchSize: number) => tinySweep(root, mnistDir, { lambdas: [lambda], batchSize })
      const [good] = await Effect.runPromise(planSweep(spec(0.01, 4)))
      // A batch larger than the 16 training digits: the run starts and fails.
      const [tooBig] = await Effect.runPromise(planSweep(spec(0.02, 250)))
      const { job } = Either.getOrThrow(toJob(good, root))
      // A run on a vector file of one's own (train-data), as a plan of runs may queue it.
      mkdirSync(join(root, "data"), { recursive: true })
      writeVectors(join(root, "data", "vectors.arrow"), 60)
      const dataSettings = await Effect.runPromise(resolveSettings("sdl", "mnist", { codeDim: 4, batchSize: 4 }))
      const dataJob: typeof RunJob.Encoded = {
        name: "own-data",
        model: "sdl",
        lambda: dataSettings.lambda,
        command: "train-data",
        out: "own-data",
        args: [
          "--arrow",
          join("data", "vectors.arrow"),
          "--model",
          "sdl",
          "--epochs",
          "1",
          "--code-dim",
          "4",
          "--batch-size",
          "4",
          "--backend",
          "wasm"
        ],
        expected: {
          model: "sdl",
          seed: 31,
          epochs: 1,
          settings: { ...dataSettings, epochs: 1 },
          data: { _tag: "file", path: join("data", "vectors.arrow"), rows: 60 },
          backend: "wasm"
        }
      }
      const failing = Either.getOrThrow(toJob(tooBig, root)).job

      const hostile: Record<string, readonly [unknown, RegExp]> = {
        "out-dots": [{ ...job, name: "dots", out: "../escape" }, /out: "\.\.\/escape" leads outside the worker's root/],
        "out-absolute": [
          { ...job, name: "absolute", out: join(base, "elsewhere") },
          /out: ".*\/elsewhere" leads outside the worker's root/
        ],
        "out-link": [{ ...job, name: "link", out: "link/run" }, /out: "link\/run" leads outside the worker's root/],
        "unknown-option": [
          { ...job, name: "evil", out: "evil", args: [...job.args, "--evil", "yes"] },
          /args\[\d+\]: --evil is not an option of train/
        ],
        "resume-outside": [
          { ...job, name: "resume", out: "resume", args: [...job.args, "--resume", join(outside, "run")] },
          /args \(--resume\): ".*\/outside\/run" leads outside the worker's root/
        ],
        "data-outside": [
          {
            ...job,
            name: "data",
            out: "data-elsewhere",
            args: job.args.map((w, i) => (job.args[i - 1] === "--mnist-dir" ? outside : w))
          },
          /args \(--mnist-dir\): ".*\/outside" leads outside the worker's root/
        ],
        "missing-fields": [
          { name: "half", out: "half", args: [] },
          /: model: is missing \(and \d+ more: lambda, command, expected\)/
        ]
      }

      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(queueName, { connection })
      try {
        // Retries allowed, to show that a refusal does not use them.
        for (const [id, [data]] of Object.entries(hostile)) await queue.add(id, data, { jobId: id, attempts: 3 })
        await queue.add("good", job, { jobId: "good", attempts: 1 })
        await queue.add("own-data", dataJob, { jobId: "own-data", attempts: 1 })
        await queue.add("too-big", { ...failing, name: "too-big", out: "too-big" }, { jobId: "too-big", attempts: 1 })

        // The submitter's side of a failed run, and its messages: no password in them either.
        const submitterLog: string[] = []
        const submitted = Effect.runPromise(
          submitToQueue([tooBig], { url: redis.url, name: queueName }, { root }).pipe(
            Effect.provide(collecting(submitterLog))
          )
        )
        const expectedJobs = Object.keys(hostile).length + 4
        const deadline = Date.now() + 30_000
        while ((await queue.getJobCountByTypes("waiting", "prioritized")) < expectedJobs) {
          if (Date.now() > deadline) throw new Error(`the submitter did not add its job:\n${submitterLog.join("\n")}`)
          await new Promise((r) => setTimeout(r, 100))
        }

        const worker = spawnCommand("experiments/worker.ts", [
          "--queue",
          redis.url,
          "--queue-name",
          queueName,
          "--root",
          root,
          "--exit-when-idle",
          "--lock-seconds",
          "5"
        ])
        started.push(worker)
        expect((await worker.exited).code, worker.output()).toBe(0)
        const outcomes: ReadonlyArray<RunOutcome> = await submitted

        for (const [id, [, reason]] of Object.entries(hostile)) {
          const j = (await queue.getJob(id))!
          expect(await j.getState(), id).toBe("failed")
          expect(j.failedReason, id).toMatch(/refused \(not retried\)/)
          expect(j.failedReason, id).toMatch(reason)
          expect(j.attemptsMade, id).toBe(1)
          expect(worker.output()).toContain(`refused (not retried)`)
        }
        const ran = (await queue.getJob("good"))!
        expect(await ran.getState(), ran.failedReason).toBe("completed")
        expect(existsSync(join(root, "sdl-lambda0.01", "summary.json"))).toBe(true)
        const own = (await queue.getJob("own-data"))!
        expect(await own.getState(), own.failedReason).toBe("completed")
        const ownSummary = JSON.parse(readFileSync(join(root, "own-data", "summary.json"), "utf8"))
        expect(ownSummary.data).toMatchObject({ arrow: { file: join(root, "data", "vectors.arrow") } })
        expect(ownSummary.data.train + ownSummary.data.val + ownSummary.data.test).toBe(60)

        const bad = (await queue.getJob("too-big"))!
        expect(await bad.getState()).toBe("failed")
        expect(bad.failedReason).toContain("a batch of 250 is more than the 16 training images")
        expect(bad.failedReason).toContain(`Its output is in ${join(root, "too-big", "run.log")}`)
        expect(outcomes).toHaveLength(1)
        const outcome = outcomes[0]
        expect(outcome.status).toBe("failed")
        const message = outcome.status === "failed" ? outcome.error.message : ""
        expect(message).toContain("its job failed 2 times")
        expect(message).toContain(`Its output is in ${join(root, "sdl-lambda0.02", "run.log")}`)

        // Nothing outside the root: only the two folders the test made are in its folder.
        expect(readdirSync(base).sort()).toEqual(["outside", "root"])
        expect(readdirSync(outside)).toEqual([])
        expect(readdirSync(root).sort()).toEqual([
          "data",
          "link",
          "own-data",
          "sdl-lambda0.01",
          "sdl-lambda0.02",
          "too-big"
        ])

        // The password is in no output; the URL is shown masked.
        const shown = redis.url.replace(`:${PASSWORD}@`, ":***@")
        expect(worker.output()).toContain(`at ${shown}`)
        expect(submitterLog.join("\n")).toContain(
          `start workers with: sparse-vdl worker --queue ${shown} --queue-name ${queueName} --root ${root}`
        )
        for (const text of [worker.output(), submitterLog.join("\n"), message]) expect(text).not.toContain(PASSWORD)

        // A wrong password is named as such, and not shown either.
        const wrong = redis.url.replace(`:${PASSWORD}@`, ":wrong-pw@")
        const refused = await Effect.runPromise(
          Effect.flip(
            submitToQueue([tooBig], { url: wrong, name: queueName }, { root }).pipe(Effect.provide(collecting([])))
          )
        )
        expect(refused.message).toContain("refused the connection's user name or password")
        expect(refused.message).toContain(wrong.replace(":wrong-pw@", ":***@"))
        expect(refused.message).not.toContain("wrong-pw")
      } finally {
        await queue.obliterate({ force: true }).catch(() => undefined)
        await queue.close()
        await connection.quit()
      }
    },
    TIMEOUT_MS
  )
})
