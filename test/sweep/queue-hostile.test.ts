/**
 * The hostile-job corpus: each job goes straight into Redis, as anyone who reaches the server
 * could put it there, and one worker (`experiments/worker.ts`) takes them in order with a good
 * job after each. Every hostile job must fail once, unretried, with a message naming what is
 * wrong, before anything runs; every good job after it must still complete. Then the queue's
 * own faults: a URL whose password holds / # ? @ : % is never printed, and a Redis user without
 * the rights a worker needs makes it stop at once, naming the right, instead of flooding its log.
 *
 * With SPARSE_VDL_CORPUS_TABLE=FILE the test writes the corpus as a Markdown table (input →
 * refusal) to FILE.
 */
import { Queue } from "bullmq"
import { Effect, Either, Logger } from "effect"
import { Redis } from "ioredis"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect } from "vitest"
import { type RunJob, toJob } from "../../src/pipeline/jobs/job.js"
import { planSweep, type RunRequest } from "../../src/pipeline/jobs/plan.js"
import { jobId, runWorker } from "../../src/pipeline/jobs/queue.js"
import { runCommandOptions, trainProcess } from "../../src/cli/train-process.js"
import { repoRoot, spawnCommand } from "../helpers/commands.js"
import { redisForTests } from "./redis.js"
import { tinySweep } from "./tiny-sweep.js"

/** Every character a password may hold that a URL gives a meaning to. */
const PASSWORD = "pw/#?@:%x"
/** One good run after each hostile job, each a new process: about a minute on an idle machine. */
const TIMEOUT_MS = 600_000
const MAX_EPOCHS = 50

type Encoded = typeof RunJob.Encoded

interface Case {
  /** The input, in words, for the table. */
  readonly input: string
  /** The payload; a string is stored in Redis as it is, not as JSON. */
  readonly payload: Encoded | string
  readonly refusal: RegExp
}

describe("the hostile-job corpus", () => {
  const redis = redisForTests({ password: PASSWORD })
  const { started } = redis

  redis.it(
    "refuses each hostile job once, before it runs, with the reason, and completes the good job after each",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "queue-hostile-"))
      const mnistDir = join(root, "data", "mnist-small")
      cpSync(join(repoRoot, "test", "fixtures", "mnist-small"), mnistDir, { recursive: true })
      symlinkSync(join(root, "nowhere"), join(root, "dangling"))
      const queueName = `hostile-${process.pid}-${Date.now()}`

      // λ 0.01, 0.011, …: one good run per hostile job, each in a folder of its own (0.02 is the other run's).
      const lambdas = Array.from({ length: 24 }, (_, i) => (10 + i) / 1000).filter((l) => l !== 0.02)
      const goods: RunRequest[] = [...(await Effect.runPromise(planSweep(tinySweep(root, mnistDir, { lambdas }))))]
      const asJob = (run: RunRequest): Encoded => Either.getOrThrow(toJob(run, root)).job
      const base = asJob(goods[0])
      const [other] = await Effect.runPromise(planSweep(tinySweep(root, mnistDir, { lambdas: [0.02] })))
      const otherJob = asJob(other)
      const withArg = (job: Encoded, flag: string, value: string): Encoded => ({
        ...job,
        args: job.args.flatMap((w, i) => (job.args[i - 1] === flag ? [value] : [w]))
      })
      // The first good job's folder holds a finished run when the jobs after it are taken.
      const firstRun = base.out

      const corpus: Record<string, Case> = {
        "not-json": {
          input: 'a payload that is not JSON (`{"name": `)',
          payload: '{"name": ',
          refusal: /the payload: the payload is not JSON/
        },
        "huge-field": {
          input: "a 10 MB field (`name`)",
          payload: { ...base, name: "x".repeat(10 * 1024 * 1024) },
          refusal:
            /the payload: the payload is 1048\d{4} bytes, more than this worker takes \(--max-payload-bytes 65536\)/
        },
        "huge-epochs": {
          input: "`--epochs 1000000000` (expected.epochs the same)",
          payload: {
            ...withArg(base, "--epochs", "1000000000"),
            out: "epochs",
            expected: {
              ...base.expected,
              epochs: 1_000_000_000,
              settings: { ...base.expected.settings, epochs: 1_000_000_000 }
            }
          },
          refusal: new RegExp(
            `expected\\.epochs: 1000000000 epochs is more than this worker takes \\(--max-epochs ${MAX_EPOCHS}\\)`
          )
        },
        "huge-epochs-arg": {
          input: "`--epochs 1000000000`, expected.epochs 1",
          payload: { ...withArg(base, "--epochs", "1000000000"), out: "epochs-arg" },
          refusal: new RegExp(
            `args \\(--epochs\\): 1000000000 epochs is more than this worker takes \\(--max-epochs ${MAX_EPOCHS}\\)`
          )
        },
        "long-argument": {
          input: "an option value of 20,000 characters",
          payload: { ...base, out: "long-arg", args: [...base.args, "--backend", "y".repeat(20_000)] },
          refusal:
            /args\[\d+\]: it holds 20000 characters, more than this worker takes in one argument \(--max-arg-length 4096\)/
        },
        "seed-differs": {
          input: "`--seed 7`, expected seed 31",
          payload: { ...base, out: "seed", args: [...base.args, "--seed", "7"] },
          refusal: /args \(--seed\): the run would have seed 7, but the job expects 31/
        },
        "model-differs": {
          input: "`--model vdl`, expected model sdl",
          payload: { ...withArg(base, "--model", "vdl"), out: "model" },
          refusal: /args \(--model\): the run would be of vdl, but the job expects sdl/
        },
        "settings-differ": {
          input: "`--code-dim 12`, expected code size 8",
          payload: { ...withArg(base, "--code-dim", "12"), out: "settings" },
          refusal:
            /expected\.settings: the arguments give other settings than the job expects: settings\.codeDim is 12, the job expects 8/
        },
        "data-differs": {
          input: "`--train-size 8`, expected all images",
          payload: { ...base, out: "data-differs", args: [...base.args, "--train-size", "8"] },
          refusal: /expected\.data\.trainSize: the run would use 8 training images, but the job expects all/
        },
        "other-run": {
          input: "out: the folder of another job's finished run, other λ",
          payload: { ...otherJob, out: firstRun },
          refusal: new RegExp(
            `out: .*${firstRun} holds another run \\(a finished run of sdl, seed 31, 1 epochs, λ 0\\.01\\): its settings differ \\(settings\\.lambda is 0\\.01, requested 0\\.02\\)\\. A new run does not replace it`
          )
        },
        "inside-run": {
          input: "out: a folder inside another run's folder",
          payload: { ...base, out: join(firstRun, "inner") },
          refusal: new RegExp(`out: "${firstRun}/inner" lies inside .*/${firstRun}, the folder of another run`)
        },
        "holds-run": {
          input: "out: a folder that holds another run's folder",
          payload: { ...base, out: "group" },
          refusal: /out: "group" holds .*\/group\/nested, the folder of another run/
        },
        "dangling-link": {
          input: "out: a link whose target does not exist",
          payload: { ...base, out: "dangling" },
          refusal: /out: "dangling" goes through the link .*\/dangling, whose target .*\/nowhere does not exist/
        },
        "long-name": {
          input: "out: a 300-character folder name",
          payload: { ...base, out: "n".repeat(300) },
          refusal:
            /out: "n{80}… \(300 characters\)" cannot be a folder: its part "n{24}…" is 300 bytes long, more than the 255 a file or folder name may have/
        },
        // Paths out of the root, unknown options and malformed payloads: test/sweep/queue-safety.test.ts.
        "missing-fields": {
          input: "a payload without most fields",
          payload: { name: "half", out: "half", args: [] } as unknown as Encoded,
          refusal: /model: is missing \(and \d+ more: lambda, command, expected\)/
        }
      }
      // A folder that holds a run's folder.
      mkdirSync(join(root, "group", "nested"), { recursive: true })
      writeFileSync(join(root, "group", "nested", "summary.json"), "{}")

      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(queueName, { connection })
      const names = Object.keys(corpus)
      expect(goods.length).toBeGreaterThanOrEqual(names.length)
      try {
        // Hostile job, good job, hostile job, …: one worker takes them in this order.
        const goodIds: string[] = []
        for (const [i, name] of names.entries()) {
          const { payload } = corpus[name]
          // Retries allowed, to show that a refusal does not use them.
          await queue.add(name, typeof payload === "string" ? {} : payload, { jobId: name, attempts: 3 })
          if (typeof payload === "string") await connection.hset(`bull:${queueName}:${name}`, "data", payload)
          const good = asJob(goods[i])
          const id = jobId(good)
          goodIds.push(id)
          await queue.add(good.name, good, { jobId: id, attempts: 1 })
        }
        // One job that asks to replace the other run, last: it runs.
        const replacing: Encoded = { ...otherJob, out: firstRun, args: [...otherJob.args, "--overwrite"] }
        await queue.add("replacing", replacing, { jobId: "replacing", attempts: 1 })

        const worker = spawnCommand("experiments/worker.ts", [
          "--queue",
          redis.url,
          "--queue-name",
          queueName,
          "--root",
          root,
          "--exit-when-idle",
          "--lock-seconds",
          "10",
          "--max-epochs",
          String(MAX_EPOCHS)
        ])
        started.push(worker)
        expect((await worker.exited).code, worker.output()).toBe(0)
        const output = worker.output()

        const table: string[] = ["| input | refusal |", "| --- | --- |"]
        for (const [i, name] of names.entries()) {
          // Read from Redis as stored: BullMQ's getJob would parse the payload that is not JSON.
          const job = await connection.hgetall(`bull:${queueName}:${name}`)
          expect(await queue.getJobState(name), name).toBe("failed")
          expect(job.failedReason, name).toMatch(/refused \(not retried\)/)
          expect(job.failedReason, name).toMatch(corpus[name].refusal)
          expect(Number(job.atm), name).toBe(1)
          table.push(`| ${corpus[name].input} | ${job.failedReason.replace(/\|/g, "\\|").replaceAll(root, "ROOT")} |`)
          const good = (await queue.getJob(goodIds[i]))!
          expect(await good.getState(), `the good job after ${name}: ${good.failedReason}`).toBe("completed")
          expect(good.finishedOn!, `the good job after ${name}`).toBeGreaterThanOrEqual(Number(job.finishedOn))
          expect(existsSync(join(root, goods[i].name, "summary.json"))).toBe(true)
        }
        for (const folder of [
          "epochs",
          "epochs-arg",
          "long-arg",
          "seed",
          "model",
          "settings",
          "data-differs",
          "half",
          join(firstRun, "inner"),
          "nowhere"
        ]) {
          expect(existsSync(join(root, folder)), folder).toBe(false)
        }
        // The other run's folder was left alone until a job asked to replace it.
        const replaced = (await queue.getJob("replacing"))!
        expect(await replaced.getState(), replaced.failedReason).toBe("completed")
        expect(JSON.parse(readFileSync(join(root, firstRun, "summary.json"), "utf8")).settings.lambda).toBe(0.02)
        expect(output).toMatch(/starting afresh, replacing it, as --overwrite asks/)
        // The poison payload failed once: no stalls, no lock blamed on another job.
        expect(output).not.toMatch(/Missing lock|stalled/i)
        expect(output).not.toContain(PASSWORD)
        expect(output).not.toContain(encodeURIComponent(PASSWORD))
        const file = process.env.SPARSE_VDL_CORPUS_TABLE
        if (file !== undefined && file !== "") writeFileSync(file, `${table.join("\n")}\n`)
      } finally {
        await queue.obliterate({ force: true }).catch(() => undefined)
        await queue.close()
        await connection.quit()
      }
    },
    TIMEOUT_MS
  )

  redis.it(
    "never prints a password, whatever it holds, and stops at once on a user without the rights a worker needs",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "queue-rights-"))
      const port = new URL(redis.url).port
      const commandOptions = await runCommandOptions()
      const workerFor = (url: string) =>
        Effect.runPromise(
          Effect.flip(
            runWorker(
              { url, name: "rights" },
              {
                command: trainProcess(repoRoot),
                commandOptions,
                root,
                concurrency: 1,
                lockMs: 2000,
                exitWhenIdle: true
              }
            )
          ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.none)))
        )

      // Typed without percent-encoding, the password cuts the URL short: refused or not, it is not shown.
      for (const c of ["/", "#", "?", "@", ":", "%"]) {
        const secret = `s3cr${c}tW0rd`
        const error = await workerFor(`redis://default:${secret}@127.0.0.1:${port}`)
        expect(error.message, c).not.toContain("tW0rd")
        expect(error.message, c).toMatch(/^job queue redis:\/\/(default:)?\*\*\*@127\.0\.0\.1/)
      }

      const admin = new Redis(redis.url)
      const users: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
        [
          "noscripts",
          ["~*", "+@all", "-@scripting"],
          /the Redis user may not run scripts \(EVAL; ACL category \+@scripting\), which a worker needs/
        ],
        [
          "nokeys",
          ["~other:*", "+@all"],
          /the Redis user may not read and write the queue's keys \(bull:rights:\*; ACL key pattern ~bull:rights:\*\), which a worker needs/
        ]
      ]
      const urlOf = (user: string) => `redis://${user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`
      try {
        for (const [user, rules, message] of users) {
          await admin.call("ACL", "SETUSER", user, "reset", "on", `>${PASSWORD}`, ...rules)
          const error = await workerFor(urlOf(user))
          expect(error.message).toMatch(message)
          expect(error.message).not.toContain(PASSWORD)
        }
        // From the command line: it stops at once, with the message and a few lines, never "taking jobs".
        const w = spawnCommand("experiments/worker.ts", [
          "--queue",
          urlOf("noscripts"),
          "--queue-name",
          "rights",
          "--root",
          root
        ])
        started.push(w)
        const { code } = await w.exited
        const output = w.output()
        expect(code, output).not.toBe(0)
        expect(output).toMatch(users[0][2])
        expect(output).not.toMatch(/taking jobs/)
        expect(output.split("\n").length, output).toBeLessThan(20)
        expect(output).not.toContain(PASSWORD)
        expect(output).not.toContain(encodeURIComponent(PASSWORD))
      } finally {
        for (const [user] of users) await admin.call("ACL", "DELUSER", user).catch(() => undefined)
        await admin.quit()
      }
    },
    TIMEOUT_MS
  )
})
