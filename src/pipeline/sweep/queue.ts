import { type Job, Queue, WaitingError, Worker } from "bullmq"
import { Cause, Effect, Exit, Fiber, Runtime, type Scope } from "effect"
import { Redis } from "ioredis"
import { createHash } from "node:crypto"
import { hostname } from "node:os"
import { join } from "node:path"
import { QueueError, SweepRunError } from "./errors.js"
import { describeResult, inPlanOrder, type RunOutcome, splitFinished } from "./local.js"
import { type FinishedSummary, type RunRequest, runState } from "./plan.js"
import { LOG_FILE, type RunCommand, spawnRun } from "./process.js"

/** A queue on a Redis server: the URL (redis://host:port[/db]) and the queue's name on it. */
export interface QueueTarget {
  readonly url: string
  readonly name: string
}

export const DEFAULT_QUEUE_NAME = "sparse-vdl-sweep"

/** A job is tried this many times before it counts as failed (a crash of the run, not of a worker). */
const JOB_ATTEMPTS = 2

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const attempt = <A>(url: string, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (e) => new QueueError({ url, problem: `${what}: ${reason(e)}` }) })

/**
 * A Redis connection for BullMQ, after a quick check that the server answers: by default the
 * client would retry for ever and the command would hang without a word.
 */
const redisConnection = (url: string): Effect.Effect<Redis, QueueError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!/^rediss?:\/\//.test(url)) {
      return yield* Effect.fail(new QueueError({ url, problem: "not a Redis URL; write it as redis://HOST:PORT (optionally /DB), e.g. redis://127.0.0.1:6379" }))
    }
    yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        const probe = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null })
        // connect() rejects with the same error; the listener keeps ioredis from printing it too.
        probe.on("error", () => {})
        return probe
      }),
      (probe) =>
        Effect.tryPromise({
          try: async () => {
            await probe.connect()
            await probe.ping()
          },
          catch: (e) =>
            new QueueError({
              url,
              problem: `no Redis server answers (${reason(e)}). Start one (Debian: apt-get install redis-server; redis-server --port 6379 --bind 127.0.0.1) or pass --queue with the URL of a running one`
            })
        }),
      (probe) => Effect.sync(() => probe.disconnect())
    )
    // BullMQ's blocking commands need maxRetriesPerRequest null.
    return yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(url, { maxRetriesPerRequest: null })),
      (client) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
    )
  })

/**
 * A job's id names the run and everything that defines it, so that submitting the same sweep
 * again finds the jobs already queued, and a changed setting makes a new job.
 */
export const jobId = (run: RunRequest): string =>
  `${run.name}.${createHash("sha256").update(JSON.stringify({ args: run.args, out: run.out, expected: run.expected })).digest("hex").slice(0, 12)}`

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
export const submitToQueue = (runs: ReadonlyArray<RunRequest>, target: QueueTarget) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { skipped, pending } = yield* splitFinished(runs)
      if (pending.length === 0) return inPlanOrder(runs, skipped)
      const client = yield* redisConnection(target.url)
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new Queue(target.name, { connection: client })),
        (q) => Effect.promise(() => q.close().catch(() => undefined))
      )
      const ids = new Map<string, RunRequest>()
      for (const run of pending) {
        const id = jobId(run)
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
          queue.add(run.name, run, { jobId: id, attempts: JOB_ATTEMPTS, removeOnComplete: false, removeOnFail: false })
        )
      }
      yield* Effect.logInfo(
        `sweep: ${pending.length} of ${runs.length} runs on queue "${target.name}" at ${target.url}; ` +
          `start workers with: npx tsx experiments/worker.ts --queue ${target.url}${target.name === DEFAULT_QUEUE_NAME ? "" : ` --queue-name ${target.name}`}`
      )
      const outcomes: RunOutcome[] = [...skipped]
      const seen = new Map<string, { readonly state: string; readonly worker: string | undefined; readonly failures: number }>()
      let lastStatus = 0
      while (ids.size > 0) {
        let running = 0
        let changed = false
        for (const [id, run] of [...ids]) {
          const job: Job | undefined = yield* attempt(target.url, `reading job ${id}`, () => queue.getJob(id))
          if (job === undefined) {
            ids.delete(id)
            outcomes.push({ run, status: "failed", error: new SweepRunError({ run: run.name, problem: `its job ${id} was removed from the queue before it finished`, log: join(run.out, LOG_FILE) }) })
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
            yield* Effect.logInfo(`sweep: finished ${run.name}${on}: ${describeResult(summary)} (${outcomes.length}/${runs.length} done)`)
            changed = true
            continue
          }
          if (state === "failed") {
            ids.delete(id)
            const error = new SweepRunError({ run: run.name, problem: `its job failed ${job.attemptsMade} times, last: ${job.failedReason}`, log: join(run.out, LOG_FILE) })
            outcomes.push({ run, status: "failed", error })
            yield* Effect.logWarning(`sweep: ${run.name} failed (${outcomes.length}/${runs.length} done): ${job.failedReason}`)
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
          const lost = now.failures > before.failures ? `its run failed: ${job.failedReason}` : `its worker${before.worker === undefined ? "" : ` ${before.worker}`} stopped`
          if (wasActive && (state !== "active" || worker !== before.worker || now.failures > before.failures)) {
            yield* Effect.logInfo(`sweep: ${run.name} is back on the queue (${lost})${state === "active" ? ` and started again${on}` : "; another worker will take it"}`)
            changed = true
          } else if (!wasActive && state === "active") {
            yield* Effect.logInfo(`sweep: ${run.name} started${on}`)
            changed = true
          }
        }
        const now = Date.now()
        if (ids.size > 0 && (changed || now - lastStatus > QUIET_STATUS_MS)) {
          lastStatus = now
          yield* Effect.logInfo(`sweep: ${outcomes.length}/${runs.length} done, ${running} running, ${ids.size - running} waiting for a worker`)
        }
        if (ids.size > 0) yield* Effect.sleep(POLL_MS)
      }
      return inPlanOrder(runs, outcomes)
    })
  )

export interface WorkerOptions {
  readonly command: RunCommand
  /** Runs at once on this worker. */
  readonly concurrency: number
  /**
   * How long a job stays locked without a renewal from its worker: a killed worker's job goes
   * back on the queue about this long after it died (BullMQ's stalled-job check).
   */
  readonly lockMs: number
  /** Stop once the queue holds no waiting or active job, instead of waiting for more. */
  readonly exitWhenIdle: boolean
}

const workerName = (): string => `${hostname()}:${process.pid}`

/** One job: nothing to do if a worker sharing the folder finished it already, else the run. */
const processRun = (run: RunRequest, command: RunCommand) =>
  Effect.gen(function* () {
    const state = yield* runState(run.out, run.expected)
    if (state.finished) {
      yield* Effect.logInfo(`worker: ${run.name} is finished already (${describeResult(state.summary)})`)
      return state.summary
    }
    yield* Effect.logInfo(`worker: started ${run.name}`)
    const started = performance.now()
    const summary = yield* spawnRun(run, command)
    yield* Effect.logInfo(`worker: finished ${run.name} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${describeResult(summary)}`)
    return summary
  })

const IDLE_CHECK_MS = 1000

/**
 * A worker: takes jobs from the queue and runs each as its own process, writing to the run folder
 * the job names (a folder all workers and the submitter share). Stopping it (SIGINT, SIGTERM)
 * stops its runs and puts their jobs back on the queue for another worker; a worker killed
 * outright loses its lock and BullMQ's stalled-job check does the same after `lockMs`.
 */
export const runWorker = (target: QueueTarget, options: WorkerOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const client = yield* redisConnection(target.url)
      const me = workerName()
      const running = new Map<string, Fiber.RuntimeFiber<FinishedSummary, SweepRunError>>()
      const processor = async (job: Job, token?: string): Promise<FinishedSummary> => {
        const run = job.data as RunRequest
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
        const message = failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause)
        await Runtime.runPromise(runtime)(Effect.logWarning(`worker: ${run.name} failed: ${message}`))
        throw new Error(message)
      }
      const worker = yield* Effect.acquireRelease(
        Effect.sync(
          () =>
            new Worker(target.name, processor, {
              connection: client,
              concurrency: options.concurrency,
              lockDuration: options.lockMs,
              stalledInterval: options.lockMs,
              // A job whose worker died is put back this many times before it counts as failed.
              maxStalledCount: 5
            })
        ),
        (w) =>
          Effect.gen(function* () {
            yield* Effect.forEach([...running.values()], (f) => Fiber.interrupt(f), { discard: true })
            yield* Effect.promise(() => w.close().catch(() => undefined))
          })
      )
      worker.on("error", (e) => Runtime.runSync(runtime)(Effect.logWarning(`worker: queue error: ${reason(e)}`)))
      yield* Effect.logInfo(`worker ${me}: taking jobs from queue "${target.name}" at ${target.url}, ${options.concurrency} at a time`)
      if (!options.exitWhenIdle) return yield* Effect.never
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new Queue(target.name, { connection: client })),
        (q) => Effect.promise(() => q.close().catch(() => undefined))
      )
      // Two quiet checks in a row, so that a job between a failed attempt and its retry still counts.
      let quiet = 0
      while (quiet < 2) {
        yield* Effect.sleep(IDLE_CHECK_MS)
        const counts = yield* attempt(target.url, "counting jobs", () => queue.getJobCounts("waiting", "active", "delayed", "prioritized"))
        const open = Object.values(counts).reduce((a, b) => a + b, 0)
        quiet = open === 0 && running.size === 0 ? quiet + 1 : 0
      }
      yield* Effect.logInfo(`worker ${me}: the queue is empty; stopping`)
    })
  )
