/**
 * The job payload and the worker's checks, without Redis: decoding, the options each command
 * takes, paths kept under the root (links included), and the Redis URL forms with the password
 * masked. The queue itself is exercised in queue-safety.test.ts and queue-load.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { Redis } from "ioredis"
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runCommandOptions } from "../../src/cli/train-process.js"
import { checkJob, confinement, decodeJob, type RunJob, toJob, type WorkerPlaces } from "../../src/pipeline/jobs/job.js"
import { planSweep } from "../../src/pipeline/jobs/plan.js"
import { spawnIntoLog } from "../../src/pipeline/jobs/process.js"
import { jobId, workerCommandLine } from "../../src/pipeline/jobs/queue.js"
import { rateLimitedLog } from "../../src/pipeline/jobs/log-limit.js"
import { maskUrl, redisOptions } from "../../src/pipeline/jobs/redis-url.js"
import { tinySweep } from "./tiny-sweep.js"

const spec = (root: string) => tinySweep(root, join(root, "data", "mnist"), { batchSize: null })

const plannedJob = (root: string) =>
  Effect.gen(function* () {
    const [run] = yield* planSweep(spec(root))
    return { run, made: Either.getOrThrow(toJob(run, root)) }
  })

/** The queueable commands as the worker is given them: names and options, from the command registry. */
const tables = await runCommandOptions()
const commands = Object.keys(tables)

describe("the options a job may pass", () => {
  it("are read from the commands' own option definitions", () => {
    const train = tables.train
    expect(train.get("--model")).toEqual({ takesValue: true, path: null })
    expect(train.get("--lambda")).toEqual({ takesValue: true, path: null })
    expect(train.get("--code-dim")).toEqual({ takesValue: true, path: null })
    expect(train.get("--download")).toEqual({ takesValue: false, path: null })
    expect(train.get("--mnist-dir")).toEqual({ takesValue: true, path: "input" })
    expect(train.get("--out")).toEqual({ takesValue: true, path: "output" })
    expect(train.get("--resume")).toEqual({ takesValue: true, path: "output" })
    expect(train.has("--evil")).toBe(false)
    expect(train.has("--arrow")).toBe(false)
    const data = tables["train-data"]
    expect(data.get("--arrow")).toEqual({ takesValue: true, path: "input" })
    expect(data.get("--images")).toEqual({ takesValue: true, path: "input" })
    expect(data.get("--column")).toEqual({ takesValue: true, path: null })
    expect(data.get("--normalize")).toEqual({ takesValue: true, path: null })
    expect(data.has("--resume")).toBe(false)
    expect(data.has("--mnist-dir")).toBe(false)
    const patches = tables["patches-train"]
    expect(patches.get("--data")).toEqual({ takesValue: true, path: "input" })
    expect(patches.get("--resume")).toEqual({ takesValue: true, path: "output" })
    expect(patches.get("--lambda")).toEqual({ takesValue: true, path: null })
    expect(patches.has("--mnist-dir")).toBe(false)
  })
})

describe("a job as the submitter makes it", () => {
  it.effect("holds its folder and paths relative to the root, without --out, and decodes back", () =>
    Effect.gen(function* () {
      const root = mkdtempSync(join(tmpdir(), "job-"))
      const { run, made } = yield* plannedJob(root)
      expect(made.job).toMatchObject({ name: "sdl-lambda0.01", command: "train", out: "sdl-lambda0.01" })
      expect(made.job.args).toEqual([
        "--model",
        "sdl",
        "--lambda",
        "0.01",
        "--epochs",
        "1",
        "--mnist-dir",
        join("data", "mnist"),
        "--code-dim",
        "8",
        "--backend",
        "wasm"
      ])
      expect(made.job.expected.data).toEqual({
        _tag: "mnist",
        mnist: { kind: "dir", dir: join("data", "mnist") },
        trainSize: null
      })
      expect(made.outside).toEqual([])
      const decoded = Either.getOrThrow(decodeJob(JSON.parse(JSON.stringify(made.job)), "j", commands))
      expect(decoded.expected.settings).toEqual(run.expected.settings)
      // Paths outside the root stay absolute and are named, for the workers' --input-root.
      const elsewhere = Either.getOrThrow(toJob({ ...run, args: [...run.args, "--images=/data/photos"] }, root))
      expect(elsewhere.job.args.at(-1)).toBe("--images=/data/photos")
      expect(elsewhere.outside).toEqual(["/data/photos"])
      expect(Either.isLeft(toJob({ ...run, out: "/somewhere/else" }, root))).toBe(true)
      expect(jobId(made.job)).toMatch(/^sdl-lambda0\.01\.[0-9a-f]{12}$/)
      expect(workerCommandLine({ url: "redis://u:pw@h:1", name: "q" }, root, ["/data"])).toBe(
        `sparse-vdl worker --queue redis://u:***@h:1 --queue-name q --root ${root} --input-root /data`
      )
    })
  )

  it.each([
    ["a missing field", ({ expected: _, ...j }: Record<string, unknown>) => j, /: expected: is missing$/],
    [
      "a field of the wrong form",
      (j: Record<string, unknown>) => ({ ...j, expected: 3 }),
      /: expected: has the wrong form \(actual 3\)$/
    ],
    [
      "an unknown field",
      (j: Record<string, unknown>) => ({ ...j, shell: "rm -rf /" }),
      /shell: is not a field of a job/
    ],
    [
      "an unknown command",
      (j: Record<string, unknown>) => ({ ...j, command: "bash" }),
      /: command: must be one of "train", "patches-train", "train-data", not "bash"$/
    ],
    [
      "a settings value of the wrong type",
      (j: Record<string, unknown>) => ({ ...j, expected: { ...(j.expected as object), settings: { codeDim: "8" } } }),
      /expected\.settings\.codeDim: Expected number/
    ],
    [
      "a name with a line break",
      (j: Record<string, unknown>) => ({ ...j, name: "a\nb" }),
      /name: it holds a control character/
    ],
    ["not an object", () => "just text", /the payload: has the wrong form \(actual "just text"\)$/]
  ])("refuses a payload with %s, naming the field", (_, change, message) => {
    const root = mkdtempSync(join(tmpdir(), "job-"))
    const { made } = Effect.runSync(plannedJob(root))
    const refused = decodeJob(change(made.job as unknown as Record<string, unknown>), "j1", commands)
    expect(Either.isLeft(refused)).toBe(true)
    const error = Either.getLeft(refused).pipe((o) => (o._tag === "Some" ? o.value : null))!
    expect(error.message).toMatch(/^job j1 refused \(not retried\): /)
    expect(error.message).toMatch(message)
  })
})

describe("the worker's check of a job", () => {
  const setUp = () =>
    Effect.gen(function* () {
      const base = mkdtempSync(join(tmpdir(), "job-check-"))
      const root = join(base, "root")
      const outside = join(base, "outside")
      mkdirSync(join(root, "data", "mnist"), { recursive: true })
      mkdirSync(outside)
      symlinkSync(outside, join(root, "link"))
      const places: WorkerPlaces = { root: yield* confinement(root), inputRoots: [] }
      const { made } = yield* plannedJob(root)
      const job = Either.getOrThrow(decodeJob(made.job, "j", commands))
      return { base, root, outside, places, job }
    })

  it.effect("makes every path absolute under the root and adds --out", () =>
    Effect.gen(function* () {
      const { root, places, job } = yield* setUp()
      const run = yield* checkJob(job, "j", places, tables)
      expect(run.out).toBe(join(root, "sdl-lambda0.01"))
      expect(run.args).toEqual([
        "--model",
        "sdl",
        "--lambda",
        "0.01",
        "--epochs",
        "1",
        "--mnist-dir",
        join(root, "data", "mnist"),
        "--code-dim",
        "8",
        "--backend",
        "wasm",
        "--out",
        run.out
      ])
      expect(run.expected.data).toEqual({
        _tag: "mnist",
        mnist: { kind: "dir", dir: join(root, "data", "mnist") },
        trainSize: null
      })
      // --out or --resume naming the job's own folder are accepted (and given by the worker itself).
      const own = yield* checkJob(
        { ...job, args: [...job.args, "--out", "sdl-lambda0.01", "--resume=./sdl-lambda0.01"] },
        "j",
        places,
        tables
      )
      expect(own.args).toEqual(run.args)
    })
  )

  it.effect("refuses folders and paths that lead out of the root, and options the command does not take", () =>
    Effect.gen(function* () {
      const { base, outside, places, job } = yield* setUp()
      const refusal = (change: Partial<RunJob>) =>
        Effect.flip(checkJob({ ...job, ...change }, "j", places, tables)).pipe(Effect.map((e) => e.message))
      expect(yield* refusal({ out: "../escape" })).toMatch(
        /^job j refused \(not retried\): out: "\.\.\/escape" leads outside the worker's root/
      )
      expect(yield* refusal({ out: join(base, "elsewhere") })).toMatch(/out: ".*elsewhere" leads outside/)
      expect(yield* refusal({ out: "link/run" })).toMatch(/out: "link\/run" leads outside/)
      expect(yield* refusal({ out: "link" })).toMatch(/out: "link" leads outside/)
      expect(yield* refusal({ out: "." })).toMatch(
        /out: "\." leads outside the worker's root|is the worker's root itself/
      )
      expect(yield* refusal({ out: "a/../../b" })).toMatch(/leads outside/)
      expect(yield* refusal({ args: [...job.args, "--evil", "1"] })).toMatch(
        /args\[12\]: --evil is not an option of train/
      )
      expect(yield* refusal({ args: [...job.args, "--help"] })).toMatch(/--help is not an option of train/)
      expect(yield* refusal({ args: [...job.args, "stray"] })).toMatch(/"stray" is not an option of train/)
      expect(yield* refusal({ args: [...job.args, "--download=yes"] })).toMatch(/--download takes no value/)
      expect(yield* refusal({ args: [...job.args, "--seed"] })).toMatch(/--seed needs a value/)
      expect(yield* refusal({ args: [...job.args, "--resume", join(outside, "run")] })).toMatch(
        /args \(--resume\): ".*outside\/run" leads outside the worker's root/
      )
      expect(yield* refusal({ args: [...job.args, "--out", "other"] })).toMatch(
        /args \(--out\): "other" is not the job's own folder/
      )
      expect(yield* refusal({ args: ["--mnist-dir", outside] })).toMatch(
        /args \(--mnist-dir\): .* leads outside the worker's root .*--input-root/
      )
      expect(yield* refusal({ args: ["--mnist-dir", "link"] })).toMatch(/args \(--mnist-dir\): "link" leads outside/)
      expect(yield* refusal({ command: "train-data", args: ["--arrow", "../x.arrow"] })).toMatch(
        /args \(--arrow\): "\.\.\/x\.arrow" leads outside/
      )
      expect(yield* refusal({ command: "train-data", args: ["--mnist-dir", "data"] })).toMatch(
        /--mnist-dir is not an option of train-data/
      )
      expect(yield* refusal({ command: "patches-train", args: ["--data", "../p.arrow"] })).toMatch(
        /args \(--data\): "\.\.\/p\.arrow" leads outside/
      )
      expect(yield* refusal({ command: "patches-train", args: ["--mnist-dir", "data"] })).toMatch(
        /--mnist-dir is not an option of patches-train/
      )
      // An input root lets data be read from there, and only read: the run folder stays under the root.
      const reading = { ...places, inputRoots: [yield* confinement(outside)] }
      const run = yield* checkJob({ ...job, args: ["--mnist-dir", outside] }, "j", reading, tables)
      expect(run.args).toEqual(["--mnist-dir", outside, "--out", run.out])
      const still = yield* Effect.flip(checkJob({ ...job, out: "link/run" }, "j", reading, tables))
      expect(still.message).toMatch(/leads outside/)
    })
  )
})

describe("starting a run", () => {
  it.effect("an argument list the system will not start is a failure naming the log, not a stack trace", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "e2big-"))
      const log = join(dir, "run.log")
      const problem = yield* Effect.flip(
        spawnIntoLog(
          { executable: process.execPath, prefix: ["-e", "0"], cwd: dir },
          ["x".repeat(200_000)],
          dir,
          log,
          (p) => p
        )
      )
      expect(problem).toMatch(new RegExp(`^cannot start .*node.* \\(spawn E2BIG\\); ${log} holds the command line$`))
    })
  )
})

describe("Redis URLs", () => {
  it("reads every form, with the password masked wherever the URL is shown", () => {
    expect(Either.getOrThrow(redisOptions("redis://127.0.0.1:6380"))).toEqual({ host: "127.0.0.1", port: 6380, db: 0 })
    expect(Either.getOrThrow(redisOptions("redis://default:secret@127.0.0.1:6380/2"))).toEqual({
      host: "127.0.0.1",
      port: 6380,
      db: 2,
      username: "default",
      password: "secret"
    })
    expect(Either.getOrThrow(redisOptions("redis://:p%40ss@host"))).toEqual({
      host: "host",
      port: 6379,
      db: 0,
      password: "p@ss"
    })
    expect(Either.getOrThrow(redisOptions("redis://[::1]:7000"))).toMatchObject({ host: "::1", port: 7000 })
    expect(Either.getLeft(redisOptions("http://host:1"))._tag).toBe("Some")
    expect(Either.getLeft(redisOptions("127.0.0.1:6379"))._tag).toBe("Some")
    expect(Either.getLeft(redisOptions("redis://host/abc"))._tag).toBe("Some")
    expect(maskUrl("redis://default:secret@127.0.0.1:6380/2")).toBe("redis://default:***@127.0.0.1:6380/2")
    expect(maskUrl("rediss://:secret@h")).toBe("rediss://:***@h")
    expect(maskUrl("redis://user@h")).toBe("redis://user@h")
    expect(maskUrl("redis://h:1")).toBe("redis://h:1")
  })

  it("never shows a password, whatever it holds, typed encoded or not", () => {
    for (const c of ["/", "#", "?", "@", ":", "%"]) {
      const secret = `s3cr${c}tW0rd`
      for (const url of [
        `redis://default:${secret}@127.0.0.1:6390/0`,
        `redis://:${secret}@h`,
        `rediss://u:${encodeURIComponent(secret)}@h:1`,
        `default:${secret}@h:6379`
      ]) {
        const shown = maskUrl(url)
        expect(shown, url).not.toContain("tW0rd")
        expect(shown, url).toMatch(/\*\*\*@h|\*\*\*@127\.0\.0\.1/)
        const read = redisOptions(url)
        if (Either.isLeft(read)) expect(read.left, url).not.toContain("tW0rd")
      }
    }
    // Typed unencoded, / ? # cut the URL short: it is refused, saying to encode them.
    expect(Either.getLeft(redisOptions("redis://u:12/tW0rd@h")).pipe(Option.getOrThrow)).toMatch(
      /holds a \/ \? # or @ that is not percent-encoded/
    )
    expect(Either.getOrThrow(redisOptions("redis://u:p@ss@h"))).toMatchObject({
      username: "u",
      password: "p@ss",
      host: "h"
    })
  })

  it("a repeated queue error is logged once, then with its count at most once a window", () => {
    const lines: string[] = []
    let now = 1_000_000
    const realNow = Date.now
    Date.now = () => now
    try {
      const log = rateLimitedLog((l) => lines.push(l), 10_000)
      for (let i = 0; i < 5000; i++) log("NOPERM")
      log("another")
      expect(lines).toEqual(["NOPERM", "another"])
      now += 11_000
      log("NOPERM")
      expect(lines).toEqual(["NOPERM", "another", "NOPERM (and 4999 more times in the last 11 s)"])
    } finally {
      Date.now = realNow
    }
  })

  it("rediss:// reaches ioredis as a TLS connection", () => {
    const named = Either.getOrThrow(redisOptions("rediss://user:pw@redis.example.org:6380/1"))
    expect(named).toEqual({
      host: "redis.example.org",
      port: 6380,
      db: 1,
      username: "user",
      password: "pw",
      tls: { servername: "redis.example.org" }
    })
    // An IP address is not sent as the TLS server name (RFC 6066), but TLS is still on.
    expect(Either.getOrThrow(redisOptions("rediss://10.0.0.1")).tls).toEqual({})
    const client = new Redis({ ...named, lazyConnect: true })
    try {
      expect(client.options.tls).toMatchObject({ servername: "redis.example.org" })
      expect(client.options).toMatchObject({
        host: "redis.example.org",
        port: 6380,
        db: 1,
        username: "user",
        password: "pw"
      })
    } finally {
      client.disconnect()
    }
    expect(Either.getOrThrow(redisOptions("redis://h")).tls).toBeUndefined()
  })
})
