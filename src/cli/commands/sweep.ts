/**
 * Train every combination of models and λ values on MNIST, each as its own run of
 * experiments/mnist.ts, then write a summary table and the paper's main figure (PSNR against
 * the fraction of zero code entries, one curve per variant).
 *   npx tsx experiments/sweep.ts --model sdl,vdl --lambda 0.005,0.01,0.02 --epochs 1 --parallel 2 --out runs/sweep
 * Runs go on this machine (--parallel K at once) or, with --queue redis://HOST:PORT, on a job
 * queue that workers on any number of machines take from (experiments/worker.ts --root OUT); the
 * jobs name their folders and paths relative to --out. Any other
 * option is one of experiments/mnist.ts and is given to every run. Starting the same sweep again
 * skips the runs that finished.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { ConfigError } from "../../pipeline/errors.js"
import { SweepFailedError } from "../../pipeline/jobs/errors.js"
import { trainProcess } from "../train-process.js"
import {
  asOptionError,
  backendOption,
  defaultRunFolder,
  downloadOption,
  mnistSourceFrom,
  overridesFrom,
  overwriteOption,
  seedOption,
  settingsOptions
} from "../options.js"
import { queueNameOption } from "../queue-options.js"

/** mnist.ts trains this long on the embedded digits when no --epochs is given; the sweep agrees. */
const EMBEDDED_EPOCHS = 20

const { lambda: _perRun, ...sharedSettings } = settingsOptions("mnist")

const options = {
  models: Options.text("model").pipe(
    Options.withDescription("comma-separated models (default sdl,vdl,sdl-nl,vdl-nl)"),
    Options.withDefault("sdl,vdl,sdl-nl,vdl-nl")
  ),
  lambdas: Options.text("lambda").pipe(
    Options.withDescription("comma-separated sparsity weights λ (default 0.005,0.01,0.02)"),
    Options.withDefault("0.005,0.01,0.02")
  ),
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(
      `training epochs of every run (default ${EMBEDDED_EPOCHS} on the embedded digits, each model's preset on a data folder)`
    ),
    Options.optional
  ),
  parallel: Options.integer("parallel").pipe(
    Options.withDescription("runs at once on this machine (default 1; ignored with --queue)"),
    Options.withDefault(1)
  ),
  out: Options.text("out").pipe(
    Options.withDescription(
      "sweep folder: one run folder per combination, the summary and the figure (default runs/sweep-<date>-<time>; give it to resume a sweep)"
    ),
    Options.optional
  ),
  queue: Options.text("queue").pipe(
    Options.withDescription(
      "redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS) of a job queue: submit the runs there for workers (sparse-vdl worker --root, given this --out as the workers see it) and wait for them"
    ),
    Options.optional
  ),
  queueName: queueNameOption,
  // The rest are experiments/mnist.ts's own, checked here and handed to every run as typed.
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription("folder with the MNIST IDX files (default: the embedded digits)"),
    Options.optional
  ),
  download: downloadOption,
  trainSize: Options.integer("train-size").pipe(
    Options.withDescription("use only the first N training images after the split"),
    Options.optional
  ),
  seed: seedOption,
  backend: backendOption,
  // Handed to every run (and job) as typed: a run folder that holds another run is replaced only when asked.
  overwrite: overwriteOption,
  ...sharedSettings
}

/** The sweep's own options, which it turns into each run's; all take a value. */
const OWN = ["--model", "--lambda", "--epochs", "--parallel", "--out", "--queue", "--queue-name"]

const list = (text: string) =>
  text
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "")

const numbers = (option: string, text: string) =>
  Effect.forEach(list(text), (w) => {
    const x = Number(w)
    return Number.isFinite(x) && x >= 0
      ? Effect.succeed(x)
      : Effect.fail(new ConfigError({ option, problem: `${JSON.stringify(w)} is not a non-negative number` }))
  })

/**
 * The sweep command; `typed` is the command line after the command's name, whose options other
 * than the sweep's own go to every run as they were typed.
 */
export const sweepCommand = (typed: ReadonlyArray<string>) =>
  Command.make("sweep", options, (o) =>
    Effect.gen(function* () {
      if (o.parallel < 1)
        return yield* Effect.fail(
          new ConfigError({ option: "--parallel", problem: `${o.parallel} runs at once runs nothing; pass 1 or more` })
        )
      // The planner, the queue (BullMQ, Redis) and the report's figure load when a sweep starts, not for --help.
      const [{ runLocal }, { passthroughArgs, planSweep }, { submitToQueue }, { writeSweepReport }] =
        yield* Effect.promise(() =>
          Promise.all([
            import("../../pipeline/jobs/local.js"),
            import("../../pipeline/jobs/plan.js"),
            import("../../pipeline/jobs/queue.js"),
            import("../../pipeline/jobs/report.js")
          ])
        )
      const source = yield* mnistSourceFrom(o.mnistDir, o.download)
      const out = resolve(Option.getOrElse(o.out, () => defaultRunFolder("sweep")))
      const runs = yield* planSweep({
        models: list(o.models),
        lambdas: yield* numbers("--lambda", o.lambdas),
        epochs: Option.getOrElse(o.epochs, () => (source.kind === "embedded" ? EMBEDDED_EPOCHS : ("preset" as const))),
        out,
        seed: o.seed,
        source,
        trainSize: Option.getOrNull(o.trainSize),
        backend: Option.getOrNull(o.backend),
        overrides: yield* overridesFrom({ ...o, lambda: Option.none() }),
        passthrough: passthroughArgs(typed, OWN, ["--mnist-dir"])
      }).pipe(Effect.catchTag("SettingsError", (e) => Effect.fail(asOptionError(e))))
      const outcomes = Option.isSome(o.queue)
        ? yield* submitToQueue(runs, { url: o.queue.value, name: o.queueName }, { root: out })
        : yield* runLocal(runs, { parallel: o.parallel, command: trainProcess(process.cwd()) })
      const files = yield* writeSweepReport(out, outcomes)
      process.stdout.write(readFileSync(join(out, "summary.md"), "utf8"))
      yield* Effect.logInfo(`sweep: wrote ${files.join(", ")}`)
      const failures = outcomes.flatMap((x) => (x.status === "failed" ? [x.error] : []))
      if (failures.length > 0) return yield* Effect.fail(new SweepFailedError({ failures, total: outcomes.length }))
    })
  )
