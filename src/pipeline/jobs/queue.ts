import { type Job, type JobJson, Queue, UnrecoverableError, WaitingError, Worker } from "bullmq"
import { Cause, Effect, Either, Exit, Fiber, Runtime, type Scope } from "effect"
import { Redis } from "ioredis"
import { createHash } from "node:crypto"
import { mkdir } from "node:fs/promises"
import { hostname } from "node:os"
import { dirname, join, resolve, sep } from "node:path"
import { DEFAULT_QUEUE_NAME } from "../choices.js"
import { ConfigError, RunFolderTakenError } from "../errors.js"
import { QueueError, SweepRunError } from "./errors.js"
import { boundsProblem, DEFAULT_JOB_LIMITS, type JobLimits } from "./bounds.js"
import {
  type CheckedRun,
  checkJob,
  type Confinement,
  confinement,
  decodeJob,
  type JobCommand,
  JobRefused,
  type OptionTable,
  toJob
} from "./job.js"
import { rateLimitedLog } from "./log-limit.js"
import { describeResult, inPlanOrder, type RunOutcome, splitFinished } from "./local.js"
import { type FinishedSummary, type RunRequest, runState } from "./plan.js"
import { continuation, LOG_FILE, type RunCommand, type RunLauncher, spawnRun } from "./process.js"
import { maskUrl, redisOptions } from "./redis-url.js"

/**
 * A queue on a Redis server: the URL (redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss:// for
 * TLS; see redis-url.ts) and the queue's name on it.
 */
export interface QueueTarget {
  readonly url: string
  readonly name: string
}

/** A job is tried this many times before it counts as failed (a crash of the run, not of a worker). */
const JOB_ATTEMPTS = 2

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** A server's or client's message with the password cut out, should it ever hold it. */
const hidePassword = (text: string, password: string | undefined): string =>
  password === undefined || password === "" ? text : text.split(password).join("***")

const attempt = <A>(url: string, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (e) =>
      new QueueError({
        url: maskUrl(url),
        problem: `${what}: ${hidePassword(
          reason(e),
          redisOptions(url).pipe(
            Either.map((o) => o.password),
            Either.getOrUndefined
          )
        )}`
      })
  })

/**
 * A Redis connection for BullMQ, after a quick check that the server answers: by default the
 * client would retry for ever and the command would hang without a word.
 */
const redisConnection = (url: string): Effect.Effect<Redis, QueueError, Scope.Scope> =>
  Effect.gen(function* () {
    const shown = maskUrl(url)
    const target = yield* Either.mapLeft(redisOptions(url), (problem) => new QueueError({ url: shown, problem }))
    // The error the client saw: a refused password closes the connection, and connect() then says only that.
    let seen: unknown = undefined
    yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        const probe = new Redis({
          ...target,
          lazyConnect: true,
          connectTimeout: 5000,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null
        })
        // connect() rejects too; the listener keeps ioredis from printing the error itself.
        probe.on("error", (e) => {
          seen ??= e
        })
        return probe
      }),
      (probe) =>
        Effect.tryPromise({
          try: async () => {
            await probe.connect()
            await probe.ping()
          },
          catch: (thrown) => {
            const e = seen ?? thrown
            return new QueueError({
              url: shown,
              problem: /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(reason(e))
                ? `the server refused the connection's user name or password (${hidePassword(reason(e), target.password)}); give them in the URL as redis://USER:PASSWORD@HOST:PORT`
                : `no Redis server answers (${hidePassword(reason(e), target.password)}). Start one (Debian: apt-get install redis-server; redis-server --port 6379 --bind 127.0.0.1) or pass --queue with the URL of a running one`
            })
          }
        }),
      (probe) => Effect.sync(() => probe.disconnect())
    )
    // BullMQ's blocking commands need maxRetriesPerRequest null.
    return yield* Effect.acquireRelease(
      Effect.sync(() => new Redis({ ...target, maxRetriesPerRequest: null })),
      (client) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
    )
  })

/**
 * A job's id names the run and everything that defines it, so that submitting the same sweep
 * again finds the jobs already queued, and a changed setting makes a new job.
 */
export const jobId = (run: {
  readonly name: string
  readonly command?: string
  readonly args: ReadonlyArray<string>
  readonly out: string
  readonly expected: unknown
}): string =>
  `${run.name.replace(/[^A-Za-z0-9._+-]/g, "_")}.${createHash("sha256")
    .update(JSON.stringify({ command: run.command ?? "train", args: run.args, out: run.out, expected: run.expected }))
    .digest("hex")
    .slice(0, 12)}`

/** The deepest folder that holds every run's folder: the root the jobs are relative to when none is given. */
const commonRoot = (runs: ReadonlyArray<RunRequest>): string => {
  const parts = runs.map((r) => dirname(resolve(r.out)).split(sep))
  const first = parts[0] ?? [sep]
  let n = first.length
  for (const p of parts) {
    let i = 0
    while (i < n && i < p.length && p[i] === first[i]) i++
    n = i
  }
  return first.slice(0, n).join(sep) || sep
}

/** The command line a worker needs for these jobs: the queue, the root, and the folders of inputs outside it. */
export const workerCommandLine = (target: QueueTarget, root: string, inputRoots: ReadonlyArray<string>): string =>
  [
    "sparse-vdl worker",
    `--queue ${maskUrl(target.url)}`,
    ...(target.name === DEFAULT_QUEUE_NAME ? [] : [`--queue-name ${target.name}`]),
    `--root ${root}`,
    ...inputRoots.map((r) => `--input-root ${r}`)
  ].join(" ")

export interface SubmitOptions {
  /**
   * The folder the jobs' run folders and paths are relative to: the sweep's --out, which every
   * worker is given as --root (the same shared folder, mounted anywhere). Default: the deepest
   * folder holding every run folder.
   */
  readonly root?: string
}

interface WorkerProgress {
  readonly worker?: string
}

const POLL_MS = 1000
const QUIET_STATUS_MS = 30_000

/**
 * Put each unfinished run on the queue and wait until every job has completed or failed for
 * good; the outcomes are those of a local sweep, so one report serves both. Jobs already on the
 * queue for the same run are waited on rather than added twice; finished or failed ones from an
 * earlier submission are replaced.
 */
export const submitToQueue = (runs: ReadonlyArray<RunRequest>, target: QueueTarget, options: SubmitOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { skipped, pending } = yield* splitFinished(runs)
      if (pending.length === 0) return inPlanOrder(runs, skipped)
      const root = resolve(options.root ?? commonRoot(pending))
      const shown = maskUrl(target.url)
      const jobs = new Map<RunRequest, ReturnType<typeof toJob> extends Either.Either<infer R, unknown> ? R : never>()
      for (const run of pending) {
        const made = toJob(run, root)
        if (Either.isLeft(made))
          return yield* Effect.fail(
            new QueueError({ url: shown, problem: `run ${run.name} cannot go on the queue: ${made.left}` })
          )
        jobs.set(run, made.right)
      }
      const outside = [...new Set([...jobs.values()].flatMap((j) => j.outside))]
      for (const path of outside) {
        yield* Effect.logWarning(
          `sweep: ${path} is outside the sweep folder ${root}; workers read it only if given --input-root ${path} (or a folder above it) and see it at that path`
        )
      }
      const client = yield* redisConnection(target.url)
      // The workers' --root: it must exist before they start.
      yield* Effect.tryPromise({
        try: () => mkdir(root, { recursive: true }),
        catch: (e) => new QueueError({ url: shown, problem: `cannot make the sweep folder ${root} (${reason(e)})` })
      })
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new Queue(target.name, { connection: client })),
        (q) => Effect.promise(() => q.close().catch(() => undefined))
      )
      const ids = new Map<string, RunRequest>()
      for (const run of pending) {
        const { job } = jobs.get(run)!
        const id = jobId(job)
        ids.set(id, run)
        const existing = yield* attempt(target.url, `reading job ${id}`, () => queue.getJob(id))
        if (existing !== undefined) {
          const state = yield* attempt(target.url, `reading job ${id}`, () => existing.getState())
          if (state !== "completed" && state !== "failed") {
            yield* Effect.logInfo(`sweep: ${run.name} is already on the queue (${state}); waiting for it`)
            continue
          }
          yield* attempt(target.url, `replacing job ${id}`, () => existing.remove())
        }
        yield* attempt(target.url, `adding job ${id}`, () =>
          queue.add(run.name, job, { jobId: id, attempts: JOB_ATTEMPTS, removeOnComplete: false, removeOnFail: false })
        )
      }
      yield* Effect.logInfo(
        `sweep: ${pending.length} of ${runs.length} runs on queue "${target.name}" at ${shown}; ` +
          `start workers with: ${workerCommandLine(target, root, outside)}` +
          " (--root: this sweep folder as the worker's machine sees it)"
      )
      const outcomes: RunOutcome[] = [...skipped]
      const seen = new Map<
        string,
        { readonly state: string; readonly worker: string | undefined; readonly failures: number }
      >()
      let lastStatus = 0
      while (ids.size > 0) {
        let running = 0
        let changed = false
        for (const [id, run] of [...ids]) {
          const job: Job | undefined = yield* attempt(target.url, `reading job ${id}`, () => queue.getJob(id))
          if (job === undefined) {
            ids.delete(id)
            outcomes.push({
              run,
              status: "failed",
              error: new SweepRunError({
                run: run.name,
                problem: `its job ${id} was removed from the queue before it finished`,
                log: join(run.out, LOG_FILE)
              })
            })
            changed = true
            continue
          }
          const state = yield* attempt(target.url, `reading job ${id}`, () => job.getState())
          const worker = (job.progress as WorkerProgress | null)?.worker
          const on = worker === undefined ? "" : ` on ${worker}`
          if (state === "completed") {
            ids.delete(id)
            const summary = job.returnvalue as FinishedSummary
            outcomes.push({ run, status: "ran", summary })
            yield* Effect.logInfo(
              `sweep: finished ${run.name}${on}: ${describeResult(summary)} (${outcomes.length}/${runs.length} done)`
            )
            changed = true
            continue
          }
          if (state === "failed") {
            ids.delete(id)
            const tries = job.attemptsMade === 1 ? "once" : `${job.attemptsMade} times`
            const error = new SweepRunError({
              run: run.name,
              problem: `its job failed ${tries}, last: ${job.failedReason}`,
              log: join(run.out, LOG_FILE)
            })
            outcomes.push({ run, status: "failed", error })
            yield* Effect.logWarning(
              `sweep: ${run.name} failed (${outcomes.length}/${runs.length} done): ${job.failedReason}`
            )
            changed = true
            continue
          }
          if (state === "active") running += 1
          const now = { state, worker, failures: job.attemptsMade }
          const before = seen.get(id)
          seen.set(id, now)
          if (before === undefined) {
            if (state === "active") yield* Effect.logInfo(`sweep: ${run.name} started${on}`)
            continue
          }
          const wasActive = before.state === "active"
          const lost =
            now.failures > before.failures
              ? `its run failed: ${job.failedReason}`
              : `its worker${before.worker === undefined ? "" : ` ${before.worker}`} stopped`
          if (wasActive && (state !== "active" || worker !== before.worker || now.failures > before.failures)) {
            yield* Effect.logInfo(
              `sweep: ${run.name} is back on the queue (${lost})${state === "active" ? ` and started again${on}` : "; another worker will take it"}`
            )
            changed = true
          } else if (!wasActive && state === "active") {
            yield* Effect.logInfo(`sweep: ${run.name} started${on}`)
            changed = true
          }
        }
        const now = Date.now()
        if (ids.size > 0 && (changed || now - lastStatus > QUIET_STATUS_MS)) {
          lastStatus = now
          yield* Effect.logInfo(
            `sweep: ${outcomes.length}/${runs.length} done, ${running} running, ${ids.size - running} waiting for a worker`
          )
        }
        if (ids.size > 0) yield* Effect.sleep(POLL_MS)
      }
      return inPlanOrder(runs, outcomes)
    })
  )

export interface WorkerOptions {
  /** The program of each kind of run (train, train-data). */
  readonly command: RunCommand | RunLauncher
  /** The commands this worker runs, each with the options it takes (plain data the command line builds); a job naming another command, or passing another option, is refused. */
  readonly commandOptions: Readonly<Record<JobCommand, OptionTable>>
  /** Every run folder lies under this folder (the sweep's folder as this machine sees it); it must exist. */
  readonly root: string
  /** Folders jobs may also read data from (--mnist-dir, --arrow, --images), besides the root. */
  readonly inputRoots?: ReadonlyArray<string>
  /** Runs at once on this worker. */
  readonly concurrency: number
  /**
   * How long a job stays locked without a renewal from its worker: a killed worker's job goes
   * back on the queue about this long after it died (BullMQ's stalled-job check).
   */
  readonly lockMs: number
  /** Stop once the queue holds no waiting or active job, instead of waiting for more. */
  readonly exitWhenIdle: boolean
  /** The largest job this worker takes (epochs, payload, argument); default DEFAULT_JOB_LIMITS. */
  readonly limits?: JobLimits
  /**
   * The checks of a job that need the command's own defaults (model, seed, settings, data against
   * what the job expects), made before the run starts; the problem names the field at fault.
   */
  readonly preflight?: (run: CheckedRun) => Effect.Effect<void, { readonly field: string; readonly problem: string }>
}

/** A payload a worker could not read (not JSON, or too large to read); its job fails with the reason. */
class UnreadablePayload {
  constructor(readonly problem: string) {}
}

/**
 * BullMQ reads a job's payload as JSON before the processor sees it; a payload that does not
 * parse would throw there, leave the job locked and make it cycle between active and stalled for
 * as long as the worker runs. Here such a payload, or one beyond the worker's size limit, becomes
 * an UnreadablePayload, which the processor fails at once, without a retry.
 */
class GuardedWorker extends Worker {
  maxPayloadBytes = DEFAULT_JOB_LIMITS.maxPayloadBytes

  protected override createJob(json: JobJson, jobId: string): Job {
    const raw = json.data ?? ""
    const bytes = Buffer.byteLength(raw)
    let problem: string | null = null
    if (bytes > this.maxPayloadBytes) {
      problem = `the payload is ${bytes} bytes, more than this worker takes (--max-payload-bytes ${this.maxPayloadBytes})`
    } else {
      try {
        JSON.parse(raw || "{}")
      } catch (e) {
        problem = `the payload is not JSON (${reason(e)})`
      }
    }
    let job: Job
    try {
      job = super.createJob(problem === null ? json : { ...json, data: "null" }, jobId)
    } catch (e) {
      // The job's options (attempts, …) do not parse either: none are kept, and it fails once.
      problem ??= `the job's options are not JSON (${reason(e)})`
      job = super.createJob({ ...json, data: "null", opts: "{}" } as JobJson, jobId)
    }
    if (problem !== null) job.data = new UnreadablePayload(problem)
    return job
  }
}

/**
 * The rights a worker needs on its Redis server, checked at start, so that a user without them
 * stops with the right named instead of failing at every poll: the queue's keys, Lua scripts
 * (EVAL and EVALSHA: BullMQ moves jobs with scripts), blocking pops (BZPOPMIN: it waits for jobs
 * with one) and INFO (it reads the server's version).
 */
const checkRights = (client: Redis, target: QueueTarget): Effect.Effect<void, QueueError> =>
  Effect.gen(function* () {
    const key = `bull:${target.name}:rights-check:${workerName()}`
    const grant = "grant it to the URL's user (ACL SETUSER USER …) or use a user that has it"
    const checks: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
      [
        `to read and write the queue's keys (${`bull:${target.name}:*`}; ACL key pattern ~bull:${target.name}:*)`,
        () => client.set(key, "1", "PX", 10_000).then(() => client.del(key))
      ],
      ["to run scripts (EVAL; ACL category +@scripting)", () => client.eval("return 1", 0)],
      [
        "to run stored scripts (EVALSHA; ACL category +@scripting)",
        () =>
          client
            .evalsha("0000000000000000000000000000000000000000", 0)
            .catch((e) => (/NOSCRIPT/.test(reason(e)) ? null : Promise.reject(e)))
      ],
      ["to wait for jobs (BZPOPMIN; ACL category +@blocking)", () => client.bzpopmin(key, 0.01)],
      ["to read the server's version (INFO)", () => client.info("server")]
    ]
    for (const [right, check] of checks) {
      yield* Effect.tryPromise({
        try: check,
        catch: (e) =>
          new QueueError({
            url: maskUrl(target.url),
            problem: /NOPERM|no permissions/i.test(reason(e))
              ? `the Redis user may not ${right.replace(/^to /, "")}, which a worker needs; ${grant} (the server said: ${reason(e)})`
              : `checking the right ${right} failed: ${reason(e)}`
          })
      })
    }
  })

const workerName = (): string => `${hostname()}:${process.pid}`

/**
 * One job: nothing to do if a worker sharing the folder finished it already; the run continued
 * from its last.safetensors if a worker that was stopped or killed left it there; else the run.
 */
const processRun = (run: RunRequest, command: RunCommand | RunLauncher) =>
  Effect.gen(function* () {
    const state = yield* runState(run.out, run.expected)
    if (state.finished) {
      yield* Effect.logInfo(`worker: ${run.name} is finished already (${describeResult(state.summary)})`)
      return state.summary
    }
    const go = yield* continuation(run)
    if (go.note !== null) yield* Effect.logInfo(`worker: ${run.name}: ${go.note}`)
    yield* Effect.logInfo(
      `worker: started ${run.name}${go.from === null ? "" : ` (continuing from its last.safetensors at ${go.from})`}`
    )
    const started = performance.now()
    const summary = yield* spawnRun(go.run, command)
    yield* Effect.logInfo(
      `worker: finished ${run.name} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${describeResult(summary)}`
    )
    return summary
  })

const IDLE_CHECK_MS = 1000

/**
 * A worker: takes jobs from the queue and runs each as its own process, writing to the run folder
 * the job names under `root` (a folder all workers and the submitter share). Every job is decoded
 * and checked first (job.ts); one that does not pass fails at once with the reason, unretried. Stopping it (SIGINT, SIGTERM)
 * stops its runs and puts their jobs back on the queue for another worker; a worker killed
 * outright loses its lock and BullMQ's stalled-job check does the same after `lockMs`.
 */
export const runWorker = (target: QueueTarget, options: WorkerOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const shown = maskUrl(target.url)
      const place = (path: string, option: string) =>
        Effect.mapError(confinement(path), (problem) => new ConfigError({ option, problem }))
      const root = yield* place(options.root, "--root")
      const inputRoots: Confinement[] = yield* Effect.forEach(options.inputRoots ?? [], (r) => place(r, "--input-root"))
      const client = yield* redisConnection(target.url)
      yield* checkRights(client, target)
      const limits = options.limits ?? DEFAULT_JOB_LIMITS
      const me = workerName()
      const running = new Map<string, Fiber.RuntimeFiber<FinishedSummary, SweepRunError | RunFolderTakenError>>()
      /** The job's payload decoded and checked against this worker's limits, root and the command's options and defaults. */
      const admit = (job: Job) =>
        Effect.gen(function* () {
          const id = job.id ?? job.name
          const refuse = (field: string, problem: string) => Effect.fail(new JobRefused({ job: id, field, problem }))
          if (job.data instanceof UnreadablePayload) return yield* refuse("the payload", job.data.problem)
          const decoded = yield* decodeJob(job.data, id, Object.keys(options.commandOptions))
          const beyond = boundsProblem(decoded, limits)
          if (beyond !== null) return yield* refuse(beyond.field, beyond.problem)
          const checked = yield* checkJob(decoded, id, { root, inputRoots }, options.commandOptions)
          if (options.preflight !== undefined)
            yield* Effect.catchAll(options.preflight(checked), (p) => refuse(p.field, p.problem))
          return checked
        })
      const processor = async (job: Job, token?: string): Promise<FinishedSummary> => {
        const admitted = await Runtime.runPromise(runtime)(Effect.either(admit(job)))
        if (Either.isLeft(admitted)) {
          const refusal: JobRefused = admitted.left
          await Runtime.runPromise(runtime)(Effect.logWarning(`worker: ${refusal.message}`))
          // Not retried: the same payload would be refused again.
          throw new UnrecoverableError(refusal.message)
        }
        const run: RunRequest = admitted.right
        await job.updateProgress({ worker: me } satisfies WorkerProgress)
        const fiber = Runtime.runFork(runtime)(processRun(run, options.command))
        running.set(job.id!, fiber)
        const exit = await Runtime.runPromise(runtime)(Fiber.await(fiber))
        running.delete(job.id!)
        if (Exit.isSuccess(exit)) return exit.value
        if (Cause.isInterruptedOnly(exit.cause)) {
          await job.moveToWait(token)
          throw new WaitingError()
        }
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some" && failure.value instanceof RunFolderTakenError) {
          // The folder belongs to another run: the same job would be refused again.
          const refusal = new JobRefused({ job: job.id ?? run.name, field: "out", problem: failure.value.message })
          await Runtime.runPromise(runtime)(Effect.logWarning(`worker: ${refusal.message}`))
          throw new UnrecoverableError(refusal.message)
        }
        const message = failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause)
        await Runtime.runPromise(runtime)(Effect.logWarning(`worker: ${run.name} failed: ${message}`))
        throw new Error(message)
      }
      const worker = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const w = new GuardedWorker(target.name, processor, {
            connection: client,
            concurrency: options.concurrency,
            lockDuration: options.lockMs,
            stalledInterval: options.lockMs,
            // A job whose worker died is put back this many times before it counts as failed.
            maxStalledCount: 5
          })
          w.maxPayloadBytes = limits.maxPayloadBytes
          return w
        }),
        (w) =>
          Effect.gen(function* () {
            yield* Effect.forEach([...running.values()], (f) => Fiber.interrupt(f), { discard: true })
            yield* Effect.promise(() => w.close().catch(() => undefined))
          })
      )
      const password = redisOptions(target.url).pipe(
        Either.map((o) => o.password),
        Either.getOrUndefined
      )
      const logQueueError = rateLimitedLog((line) => Runtime.runSync(runtime)(Effect.logWarning(line)))
      worker.on("error", (e) => logQueueError(`worker: queue error: ${hidePassword(reason(e), password)}`))
      yield* Effect.logInfo(
        `worker ${me}: taking jobs from queue "${target.name}" at ${shown}, ${options.concurrency} at a time, run folders under ${root.path}` +
          (inputRoots.length === 0 ? "" : `, data also from ${inputRoots.map((r) => r.path).join(", ")}`)
      )
      if (!options.exitWhenIdle) return yield* Effect.never
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new Queue(target.name, { connection: client })),
        (q) => Effect.promise(() => q.close().catch(() => undefined))
      )
      // Two quiet checks in a row, so that a job between a failed attempt and its retry still counts.
      let quiet = 0
      while (quiet < 2) {
        yield* Effect.sleep(IDLE_CHECK_MS)
        const counts = yield* attempt(target.url, "counting jobs", () =>
          queue.getJobCounts("waiting", "active", "delayed", "prioritized")
        )
        const open = Object.values(counts).reduce((a, b) => a + b, 0)
        quiet = open === 0 && running.size === 0 ? quiet + 1 : 0
      }
      yield* Effect.logInfo(`worker ${me}: the queue is empty; stopping`)
    })
  )
