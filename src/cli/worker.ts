/**
 * A sweep worker: takes runs from the job queue that `experiments/sweep.ts --queue URL` fills and
 * trains each as its own run of experiments/mnist.ts, on this machine. Start as many as you like,
 * on any machine that reaches the Redis server and sees the sweep folder at the same path.
 *   npx tsx experiments/worker.ts --queue redis://127.0.0.1:6379 [--concurrency 1] [--exit-when-idle]
 * Ctrl-C puts the worker's current runs back on the queue; a worker that dies without warning
 * loses its jobs to the others after --lock-seconds.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { ConfigError } from "../pipeline/errors.js"
import { DEFAULT_QUEUE_NAME, runWorker } from "../pipeline/sweep/queue.js"
import { programRoot, trainProcess } from "./train-process.js"

const options = {
  queue: Options.text("queue").pipe(Options.withDescription("redis://HOST:PORT[/DB] of the job queue")),
  queueName: Options.text("queue-name").pipe(Options.withDescription(`name of the queue on that Redis server (default ${DEFAULT_QUEUE_NAME})`), Options.withDefault(DEFAULT_QUEUE_NAME)),
  concurrency: Options.integer("concurrency").pipe(Options.withDescription("runs at once on this worker (default 1)"), Options.withDefault(1)),
  lockSeconds: Options.float("lock-seconds").pipe(
    Options.withDescription("how long a job stays with a worker that stopped answering before another takes it (default 30)"),
    Options.withDefault(30)
  ),
  exitWhenIdle: Options.boolean("exit-when-idle").pipe(Options.withDescription("stop once the queue holds no waiting or running job (start the worker after the sweep was submitted)"))
}

export const workerCommand = Command.make("worker", options, (o) =>
  Effect.gen(function* () {
    if (o.concurrency < 1) return yield* Effect.fail(new ConfigError({ option: "--concurrency", problem: `${o.concurrency} runs at once runs nothing; pass 1 or more` }))
    if (!(o.lockSeconds >= 1)) return yield* Effect.fail(new ConfigError({ option: "--lock-seconds", problem: `${o.lockSeconds} s is too short for a worker to renew its lock; pass 1 or more` }))
    yield* runWorker(
      { url: o.queue, name: o.queueName },
      {
        // The worker's own copy of the project runs the job, from its root.
        command: trainProcess(programRoot),
        concurrency: o.concurrency,
        lockMs: Math.round(o.lockSeconds * 1000),
        exitWhenIdle: o.exitWhenIdle
      }
    )
  })
).pipe(Command.withDescription("take sweep runs from a job queue and train them on this machine"))
