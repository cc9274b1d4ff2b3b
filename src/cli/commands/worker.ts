/**
 * A sweep worker: takes runs from the job queue that `sparse-vdl sweep --queue URL` fills and
 * trains each as its own run of `sparse-vdl train` (or `train-data`), on this machine. Start as
 * many as you like, on any machine that reaches the Redis server and sees the sweep folder.
 *   sparse-vdl worker --queue redis://[USER:PASSWORD@]HOST:6379 --root /mnt/cluster/sweep [--concurrency 1] [--exit-when-idle]
 * Every run folder and every path a job names must lie under --root (data also under an
 * --input-root); a job that names anything else, or an option its command does not take, fails
 * at once with the reason. Ctrl-C puts the worker's current runs back on the queue; a worker that
 * dies without warning loses its jobs to the others after --lock-seconds, and they continue from
 * their last.safetensors.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { ConfigError } from "../../pipeline/errors.js"
import { DEFAULT_JOB_LIMITS, MAX_ARG_STRLEN } from "../../pipeline/jobs/bounds.js"
import { zeroOrMore } from "../options.js"
import { preflightJob } from "../job-preflight.js"
import { queueNameOption } from "../queue-options.js"
import { programRoot, runCommandOptions, trainProcess } from "../train-process.js"

const options = {
  queue: Options.text("queue").pipe(
    Options.withDescription("redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS) of the job queue")
  ),
  queueName: queueNameOption,
  root: Options.directory("root").pipe(
    Options.withDescription(
      "the sweep folder (the submitter's --out) as this machine sees it: every run folder a job names is made under it, and a job naming any other place is refused"
    )
  ),
  inputRoots: Options.directory("input-root").pipe(
    Options.withDescription(
      "a folder jobs may also read data from (--mnist-dir, --arrow, --images, --data); repeat for several. Default: data only from under --root"
    ),
    zeroOrMore
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withDescription("runs at once on this worker (default 1)"),
    Options.withDefault(1)
  ),
  lockSeconds: Options.float("lock-seconds").pipe(
    Options.withDescription(
      "how long a job stays with a worker that stopped answering before another takes it (default 30)"
    ),
    Options.withDefault(30)
  ),
  maxEpochs: Options.integer("max-epochs").pipe(
    Options.withDescription(
      `the most epochs a job may ask for; a job asking for more is refused before it runs (default ${DEFAULT_JOB_LIMITS.maxEpochs})`
    ),
    Options.withDefault(DEFAULT_JOB_LIMITS.maxEpochs)
  ),
  maxPayloadBytes: Options.integer("max-payload-bytes").pipe(
    Options.withDescription(
      `the most bytes a job's payload (its JSON on the queue) may hold; a larger one is refused unread (default ${DEFAULT_JOB_LIMITS.maxPayloadBytes})`
    ),
    Options.withDefault(DEFAULT_JOB_LIMITS.maxPayloadBytes)
  ),
  maxArgLength: Options.integer("max-arg-length").pipe(
    Options.withDescription(
      `the most characters one argument of a job may hold, at most ${MAX_ARG_STRLEN} (the system's limit) (default ${DEFAULT_JOB_LIMITS.maxArgLength})`
    ),
    Options.withDefault(DEFAULT_JOB_LIMITS.maxArgLength)
  ),
  exitWhenIdle: Options.boolean("exit-when-idle").pipe(
    Options.withDescription(
      "stop once the queue holds no waiting or running job (start the worker after the sweep was submitted)"
    )
  )
}

export const workerCommand = Command.make("worker", options, (o) =>
  Effect.gen(function* () {
    if (o.concurrency < 1)
      return yield* Effect.fail(
        new ConfigError({
          option: "--concurrency",
          problem: `${o.concurrency} runs at once runs nothing; pass 1 or more`
        })
      )
    for (const [option, value] of [
      ["--max-epochs", o.maxEpochs],
      ["--max-payload-bytes", o.maxPayloadBytes],
      ["--max-arg-length", o.maxArgLength]
    ] as const) {
      if (value < 1)
        return yield* Effect.fail(
          new ConfigError({ option, problem: `${value} would refuse every job; pass 1 or more` })
        )
    }
    if (o.maxArgLength > MAX_ARG_STRLEN) {
      return yield* Effect.fail(
        new ConfigError({
          option: "--max-arg-length",
          problem: `${o.maxArgLength} is more than the ${MAX_ARG_STRLEN} characters the system allows one argument of a process; pass ${MAX_ARG_STRLEN} or less`
        })
      )
    }
    if (!(o.lockSeconds >= 1))
      return yield* Effect.fail(
        new ConfigError({
          option: "--lock-seconds",
          problem: `${o.lockSeconds} s is too short for a worker to renew its lock; pass 1 or more`
        })
      )
    // The queue (BullMQ, Redis) and the commands' option tables load when a worker starts, not for --help.
    const { runWorker } = yield* Effect.promise(() => import("../../pipeline/jobs/queue.js"))
    const commandOptions = yield* Effect.promise(runCommandOptions)
    yield* runWorker(
      { url: o.queue, name: o.queueName },
      {
        // The worker's own copy of the project runs the job, from its root.
        command: trainProcess(programRoot),
        commandOptions,
        root: o.root,
        inputRoots: o.inputRoots,
        concurrency: o.concurrency,
        lockMs: Math.round(o.lockSeconds * 1000),
        exitWhenIdle: o.exitWhenIdle,
        limits: { maxEpochs: o.maxEpochs, maxPayloadBytes: o.maxPayloadBytes, maxArgLength: o.maxArgLength },
        preflight: preflightJob
      }
    )
  })
)
