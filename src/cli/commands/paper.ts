/**
 * The paper's experiments from one command (docs/paper.md): MNIST variants at matched sparsity
 * levels and the baselines, natural-image patches, denoising, low-data classification, the
 * collapse and the atoms, as one plan that a second start resumes; then one HTML report and
 * summary.md with the tables and figures.
 *   sparse-vdl paper --scale quick --mnist-dir data/mnist --images data/bsds500 --out runs/paper-quick --parallel 2
 *   sparse-vdl paper collapse --model noreg,vdl --epochs 10 --out runs/collapse
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { existsSync } from "node:fs"
import { basename, join, relative, resolve } from "node:path"
import { scales } from "../../pipeline/choices.js"
import { ConfigError } from "../../pipeline/errors.js"
import type { PaperPlan, ProgramName } from "../../pipeline/paper/plan.js"
import { codeVersion, commandLine, portableCommandLine, type Provenance } from "../../pipeline/paper/provenance.js"
import { PaperFailedError, type PaperPrograms } from "../../pipeline/paper/steps.js"
import type { RunCommand } from "../../pipeline/jobs/process.js"
import { variantNames } from "../../models/variants.js"
import { programVersion } from "../program-help.js"
import {
  backendOption,
  choiceOption,
  defaultRunFolder,
  downloadOption,
  mnistSourceFrom,
  overwriteOption,
  seedOption,
  settingsFromOptions,
  settingsOptions
} from "../options.js"
import { queueNameOption } from "../queue-options.js"
import { programCommand, programRoot, trainProcess } from "../train-process.js"

/** The scripts of experiments/ under tsx from a checkout; `sparse-vdl <command>` from the built package. */
const scriptOf: Record<ProgramName, readonly [script: string, words: ReadonlyArray<string>]> = {
  patches: ["patches", ["patches"]],
  denoise: ["denoise", ["denoise"]],
  classify: ["classify", ["classify"]],
  collapse: ["collapse", ["paper", "collapse"]]
}

export const paperPrograms = (cwd: string): PaperPrograms => ({
  ...(Object.fromEntries(
    Object.entries(scriptOf).map(([name, [script, words]]) => [name, programCommand(`${script}.ts`, [], words, cwd)])
  ) as Record<ProgramName, RunCommand>),
  runs: trainProcess(cwd)
})

/** How the person started this: `sparse-vdl …` from the package, `npx tsx experiments/paper.ts …` from a checkout. */
// The script is named relative to the repository and absolute paths are made portable, so that
// a caption names no folder of the machine the plan ran on.
const typedCommand = (argv: ReadonlyArray<string>): string => {
  const script = argv[1] ?? ""
  const head = script.endsWith(".ts")
    ? ["npx", "tsx", relative(programRoot, script)]
    : [basename(script) === "bin.js" ? "sparse-vdl" : basename(script)]
  return `${commandLine(head)} ${portableCommandLine(argv.slice(2), programRoot)}`.trim()
}

const options = {
  scale: choiceOption("scale", scales).pipe(
    Options.withDescription(
      "full (default): the whole grid at the paper's length, three λ per model, 200 epochs on MNIST and 100 on patches (for the job queue); paper: the authors' four presets at their length (200 epochs on MNIST, SDL-NL included), 200,000 BSDS500 patches at 20, three training seeds of each MNIST preset at 20 epochs, the authors' classifier, in 3-hour sittings (--show-sittings); medium: full MNIST at 20 epochs (SDL-NL and WDL-NL 5), 50,000 patches at 5, sized for about 2 hours on 2 cores; quick: small data, few epochs, about 5 minutes on 2 cores"
    ),
    Options.withDefault("full" as const)
  ),
  epochs: Options.integer("epochs").pipe(
    Options.withDescription(
      "training epochs of every run (default: the scale's; full: the paper's 200 on MNIST, 100 on patches)"
    ),
    Options.optional
  ),
  out: Options.text("out").pipe(
    Options.withDescription(
      "the plan's folder: runs, evaluations, tables, figures, report.html, summary.md (default runs/paper-<scale>-<date>-<time>; give it again to resume)"
    ),
    Options.optional
  ),
  parallel: Options.integer("parallel").pipe(
    Options.withDescription("processes at once on this machine (default 1)"),
    Options.withDefault(1)
  ),
  queue: Options.text("queue").pipe(
    Options.withDescription(
      "redis://HOST:PORT of a job queue: the training runs (MNIST and patches) go there for `sparse-vdl worker`s, given this --out as their --root (a folder they share); the rest runs here"
    ),
    Options.optional
  ),
  queueName: queueNameOption,
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription(
      "folder of the MNIST IDX files (the real run: full MNIST); default the 10,000 embedded digits"
    ),
    Options.optional
  ),
  download: downloadOption,
  images: Options.directory("images").pipe(
    Options.withDescription(
      "photos for the natural-image patches: a folder with train/ (val/) and test/ as BSDS500, or one folder of photos; without it the plan has no patch runs"
    ),
    Options.optional
  ),
  seed: seedOption,
  backend: backendOption,
  overwrite: overwriteOption,
  sitting: Options.integer("sitting").pipe(
    Options.withDescription(
      "run only sitting K of the plan (1, 2, ...): each sitting's runs fit 3 hours on 2 cores at the measured costs; --show-sittings lists them"
    ),
    Options.optional
  ),
  only: Options.text("only").pipe(
    Options.withDescription(
      "run only these steps, comma-separated: run ids as --show-sittings names them (mnist/vdl-lambda0.02, mnist-spread/sdl-lambda0.005-seed31: a run brings its evaluations) or step ids (collapse, classify-baselines)"
    ),
    Options.optional
  ),
  showSittings: Options.boolean("show-sittings").pipe(
    Options.withDescription("print the plan's sittings (runs, expected hours) and stop")
  ),
  results: Options.text("results").pipe(
    Options.withDescription(
      "a folder of committed results (docs/results/paper): after the steps, copy what finished into it (no checkpoints, no logs) and build the report there from everything it holds"
    ),
    Options.optional
  ),
  models: Options.text("models").pipe(
    Options.withDescription(
      "with --results: where each main run's best checkpoint goes as weights only (default models/ of the working folder)"
    ),
    Options.withDefault("models")
  )
}

export const paperCollapseCommand = Command.make(
  "collapse",
  {
    models: Options.text("model").pipe(
      Options.withDescription(
        `comma-separated models to compare (default noreg,vdl); any of ${variantNames().join(", ")}`
      ),
      Options.withDefault("noreg,vdl")
    ),
    epochs: Options.integer("epochs").pipe(
      Options.withDescription("training epochs per model (default 10)"),
      Options.withDefault(10)
    ),
    trainSize: Options.integer("train-size").pipe(
      Options.withDescription("use only the first N training images after the split"),
      Options.optional
    ),
    mnistDir: Options.directory("mnist-dir").pipe(
      Options.withDescription("folder with the MNIST IDX files; default: the embedded digits"),
      Options.optional
    ),
    out: Options.text("out").pipe(
      Options.withDescription("output folder (default runs/collapse-<date>-<time>)"),
      Options.optional
    ),
    seed: seedOption,
    backend: backendOption,
    ...settingsOptions("mnist")
  },
  (o) =>
    Effect.gen(function* () {
      const models = o.models
        .split(",")
        .map((m) => m.trim())
        .filter((m) => m !== "")
      if (models.length === 0)
        return yield* Effect.fail(
          new ConfigError({ option: "--model", problem: "no model given; pass e.g. --model noreg,vdl" })
        )
      // --epochs is this command's own (a number), not an override of the setting.
      const { epochs: _own, ...given } = o
      const settings = yield* Effect.forEach(models, (m) => settingsFromOptions(m, "mnist", given))
      if (o.epochs < 1)
        return yield* Effect.fail(
          new ConfigError({ option: "--epochs", problem: `${o.epochs} epochs records nothing; pass 1 or more` })
        )
      // The data and the experiment load when the command runs, not for --help.
      const [
        { loadMnist, normalizeMnistStage, splitStage },
        { dataSummary, mapSplits },
        { collapseExperiment },
        { BackendLive }
      ] = yield* Effect.promise(() =>
        Promise.all([
          import("../../pipeline/sources/mnist.js"),
          import("../../pipeline/sources/dataset.js"),
          import("../../pipeline/paper/collapse.js"),
          import("../../pipeline/backend/backend.js")
        ])
      )
      const data = yield* loadMnist(
        Option.isSome(o.mnistDir) ? { kind: "dir", dir: o.mnistDir.value } : { kind: "embedded" }
      )
      const splits = mapSplits(splitStage(o.seed, Option.getOrUndefined(o.trainSize))(data), (s, name) =>
        normalizeMnistStage(name)(s)
      )
      yield* dataSummary(splits)
      const out = Option.getOrElse(o.out, () => defaultRunFolder("collapse"))
      yield* collapseExperiment({ models, settings, epochs: o.epochs, seed: o.seed, out }, splits).pipe(
        Effect.provide(BackendLive(Option.getOrUndefined(o.backend)))
      )
    })
).pipe(
  Command.withDescription(
    "the collapse without a regulariser: per epoch, code ℓ1 norms and decoder column norms of each model (docs/collapse.md)"
  )
)

/**
 * The report of a results folder alone (docs/results/paper): the plan of the scale read from it,
 * with nothing run, so that the report is built from what earlier sittings committed.
 */
export const paperReportCommand = (argv: ReadonlyArray<string>) =>
  Command.make(
    "report",
    {
      scale: options.scale,
      epochs: options.epochs,
      seed: seedOption,
      results: Options.text("results").pipe(
        Options.withDescription("the results folder the sittings filled (e.g. docs/results/paper)")
      ),
      out: Options.text("out").pipe(
        Options.withDescription(
          "where the tables, figures, summary.md and report.html go (default: the results folder)"
        ),
        Options.optional
      )
    },
    (o) =>
      Effect.gen(function* () {
        const [{ planPaper }, { writePaperReport }] = yield* Effect.promise(() =>
          Promise.all([import("../../pipeline/paper/plan.js"), import("../../pipeline/paper/report.js")])
        )
        const results = resolve(o.results)
        if (!existsSync(results))
          return yield* Effect.fail(
            new ConfigError({
              option: "--results",
              problem: `${o.results} does not exist; give the folder the sittings' --results filled`
            })
          )
        const plan = yield* planPaper({
          scale: o.scale,
          epochs: Option.getOrNull(o.epochs),
          out: results,
          seed: o.seed,
          mnist: { kind: "embedded" },
          // The photos are not read: the patch runs are found by their folders.
          images: existsSync(join(results, "patches")) ? results : null,
          backend: null
        })
        const provenance: Provenance = {
          command: typedCommand(argv),
          commit: codeVersion(programRoot, programVersion),
          generated: new Date().toISOString()
        }
        const into = resolve(Option.getOrElse(o.out, () => results))
        const report = yield* writePaperReport(plan, [], provenance, { into })
        yield* Effect.logInfo(`paper report: wrote ${report.html} and ${report.markdown}`)
      })
  ).pipe(Command.withDescription("the report of a results folder filled by sittings (--results), nothing run"))

/** The part of the plan this start runs: sitting K, the named steps, or all of it. */
const partOfPlan = (plan: PaperPlan, sitting: number | null, only: string | null) =>
  Effect.gen(function* () {
    const { planSittings, restrictPlan, sittingPlan } = yield* Effect.promise(
      () => import("../../pipeline/paper/sittings.js")
    )
    if (sitting !== null && only !== null)
      return yield* Effect.fail(new ConfigError({ option: "--sitting", problem: "give --sitting or --only, not both" }))
    if (sitting !== null) {
      const part = sitting >= 1 ? sittingPlan(plan, sitting) : null
      if (part === null)
        return yield* Effect.fail(
          new ConfigError({
            option: "--sitting",
            problem: `${sitting} is not a sitting of this plan; --show-sittings lists them (1 to ${planSittings(plan).length})`
          })
        )
      yield* Effect.logInfo(
        `paper: sitting ${sitting} of ${part.of}, expected ${(part.sitting.seconds / 3600).toFixed(1)} h: ${part.sitting.units.map((u) => u.id).join(", ")}`
      )
      return part.plan
    }
    if (only !== null) {
      const names = only
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "")
      const part = restrictPlan(plan, names)
      if (part.unknown.length > 0 || names.length === 0)
        return yield* Effect.fail(
          new ConfigError({
            option: "--only",
            problem: `${names.length === 0 ? "no step named" : `no step or run named ${part.unknown.join(", ")}`}; --show-sittings names the runs (e.g. ${plan.steps.find((s) => s.kind === "train")?.id ?? "mnist/vdl-lambda0.02"})`
          })
        )
      return part.plan
    }
    return plan
  })

/** The command; `argv` is the process's, for the command line printed under every figure. */
export const paperCommand = (argv: ReadonlyArray<string>) =>
  Command.make("paper", options, (o) =>
    Effect.gen(function* () {
      if (o.parallel < 1)
        return yield* Effect.fail(
          new ConfigError({
            option: "--parallel",
            problem: `${o.parallel} processes at once runs nothing; pass 1 or more`
          })
        )
      // The plan, its steps and its report load when the command runs, not for --help.
      const [{ planPaper }, { executePlan }, { writePaperReport }, { sittingsTable }, { exportResults }] =
        yield* Effect.promise(() =>
          Promise.all([
            import("../../pipeline/paper/plan.js"),
            import("../../pipeline/paper/execute.js"),
            import("../../pipeline/paper/report.js"),
            import("../../pipeline/paper/sittings.js"),
            import("../../pipeline/paper/export.js")
          ])
        )
      const mnist = yield* mnistSourceFrom(o.mnistDir, o.download)
      const out = resolve(Option.getOrElse(o.out, () => defaultRunFolder(`paper-${o.scale}`)))
      if (mnist.kind === "embedded")
        yield* Effect.logWarning(
          "paper: no --mnist-dir: MNIST runs use the 10,000 embedded digits; the paper's protocol is full MNIST (--mnist-dir or --download)"
        )
      if (Option.isNone(o.images))
        yield* Effect.logWarning("paper: no --images: the plan has no natural-image patch runs")
      const whole = yield* planPaper({
        scale: o.scale,
        epochs: Option.getOrNull(o.epochs),
        out,
        seed: o.seed,
        mnist,
        images: Option.getOrNull(Option.map(o.images, (d) => resolve(d))),
        backend: Option.getOrNull(o.backend),
        // A run folder of the plan that holds another run (other settings) is replaced only when asked.
        ...(o.overwrite ? { extraArgs: ["--overwrite"] } : {})
      })
      if (o.showSittings) {
        yield* Console.log(sittingsTable(whole))
        return
      }
      const plan = yield* partOfPlan(whole, Option.getOrNull(o.sitting), Option.getOrNull(o.only))
      const provenance: Provenance = {
        command: typedCommand(argv),
        commit: codeVersion(programRoot, programVersion),
        generated: new Date().toISOString()
      }
      yield* Effect.logInfo(`paper: ${o.scale} scale into ${out}; commit ${provenance.commit}`)
      const outcomes = yield* executePlan(plan, {
        parallel: o.parallel,
        programs: paperPrograms(process.cwd()),
        ...(Option.isSome(o.queue) ? { queue: { url: o.queue.value, name: o.queueName } } : {})
      })
      const report = yield* writePaperReport(plan, outcomes, provenance)
      yield* Effect.logInfo(`paper: wrote ${report.html} and ${report.markdown}`)
      if (Option.isSome(o.results)) {
        const results = resolve(o.results.value)
        const exported = yield* exportResults(plan, results, resolve(o.models))
        yield* Effect.logInfo(
          `paper: copied ${exported.copied.length} files into ${results}, wrote ${exported.models.length} weights-only checkpoints into ${resolve(o.models)}`
        )
        // The report of everything committed so far: the whole plan read from the results folder.
        const committed = yield* planPaper({ ...whole.spec, out: results })
        const all = yield* writePaperReport(committed, [], provenance)
        yield* Effect.logInfo(`paper: wrote ${all.html} and ${all.markdown} from ${results}`)
      }
      const failures = outcomes.flatMap((x) =>
        x.status === "failed" || x.status === "blocked"
          ? [{ step: x.step.id, problem: (x.problem ?? x.status).split("\n")[0] }]
          : []
      )
      if (failures.length > 0)
        return yield* Effect.fail(new PaperFailedError({ failures, total: outcomes.length, report: report.html }))
    })
  ).pipe(Command.withSubcommands([paperCollapseCommand, paperReportCommand(argv)]))
