/**
 * Every subcommand of sparse-vdl, in the order `sparse-vdl --help` lists them: its name, the line
 * that describes it, how to load its @effect/cli command (its options and its handler, in its own
 * file of this folder), and, for a command that can run as a job of the queue, what a job needs.
 * The program (bin.ts), the experiments/ scripts, sweeps and the queue worker all read this list.
 * Commands are loaded only when named, so that `sparse-vdl --help` loads none and
 * `sparse-vdl train --help` loads train's options alone.
 */
import type { Command, Options } from "@effect/cli"
import { logLevelFirst } from "../argv.js"

/** What a command's loader is given. */
export interface LoadContext {
  /** The command line as typed (runtime and script first). */
  readonly argv: ReadonlyArray<string>
  /** The name the command is run under: its own, or an experiments/ script's (`mnist` for train). */
  readonly name: string
}

// The command's own type parameters do not matter to those who run it, only that it is one.
// biome-ignore lint/suspicious/noExplicitAny: a command of any options, environment and error.
export type AnyCommand = Command.Command<any, any, any, any>

/**
 * A command a sweep or the paper's plan can hand to a queue worker: the job's `command` names it,
 * and the worker runs it as `sparse-vdl <words>` (from the package) or experiments/<script> with
 * `scriptWords` (from the sources), passing only the options of `options`.
 */
export interface JobEntry {
  readonly job: string
  readonly words: ReadonlyArray<string>
  readonly script: string
  readonly scriptWords: ReadonlyArray<string>
  /** The options the command parses its own command line with; a job may pass only these. */
  readonly options: () => Promise<Readonly<Record<string, Options.Options<unknown>>>>
}

export interface CommandEntry {
  readonly name: string
  readonly description: string
  readonly load: (context: LoadContext) => Promise<AnyCommand>
  /** The runs of this command (or of its subcommands) that can be queued jobs. */
  readonly jobs?: ReadonlyArray<JobEntry>
}

/** What was typed after the first occurrence of a command's name: the sweep hands it on to its runs. */
const typedAfter = (argv: ReadonlyArray<string>, name: string): string[] => {
  const args = logLevelFirst(argv).slice(2)
  const at = args.indexOf(name)
  return args.slice(at + 1)
}

export const commands: ReadonlyArray<CommandEntry> = [
  {
    name: "train",
    description:
      "train a variant on MNIST (default) or another data source (--source) and write a run folder; --resume DIR continues a stopped run",
    load: ({ name }) => import("./train.js").then((m) => m.trainCommand(name)),
    jobs: [
      {
        job: "train",
        words: ["train"],
        script: "mnist.ts",
        scriptWords: [],
        options: () => import("./train.js").then((m) => m.trainOptions)
      }
    ]
  },
  {
    name: "patches",
    description: "build a patch data set from photos, or train on one",
    load: () => import("./patches.js").then((m) => m.patchesCommand),
    jobs: [
      {
        job: "patches-train",
        words: ["patches", "train"],
        script: "patches.ts",
        scriptWords: ["train"],
        options: () => import("./patches.js").then((m) => m.patchesTrainOptions)
      }
    ]
  },
  {
    name: "train-data",
    description:
      "train a variant on data of your own (an Arrow file of vectors or a folder of images) and write a run folder",
    load: () => import("./train-data.js").then((m) => m.trainDataCommand),
    jobs: [
      {
        job: "train-data",
        words: ["train-data"],
        script: "train-data.ts",
        scriptWords: [],
        options: () => import("./train-data.js").then((m) => m.trainDataOptions)
      }
    ]
  },
  {
    name: "encode",
    description:
      "codes of new inputs (images, rows of an Arrow file, MNIST test images) from a trained model, written as an Arrow table",
    load: () => import("./encode.js").then((m) => m.encodeCommand)
  },
  {
    name: "export-torch",
    description: "write a trained model in PyTorch's layout (nn.Linear weights out × in) as a safetensors file",
    load: () => import("./export-torch.js").then((m) => m.exportTorchCommand)
  },
  {
    name: "denoise",
    description: "denoise the test images of trained runs at several noise levels and compare encoder and FISTA codes",
    load: () => import("./denoise.js").then((m) => m.denoiseCommand)
  },
  {
    name: "classify",
    description:
      "low-data classification on the codes of trained runs (on MNIST or any labelled source), beside raw pixels and end-to-end LISTA",
    load: () => import("./classify.js").then((m) => m.classifyCommand)
  },
  {
    name: "report",
    description: "one self-contained HTML page comparing trained runs",
    load: () => import("./report.js").then((m) => m.reportCommand)
  },
  {
    name: "sweep",
    description:
      "train every combination of models and λ, here or on a job queue, and write the summary and the PSNR-against-sparsity figure",
    load: ({ argv }) => import("./sweep.js").then((m) => m.sweepCommand(typedAfter(argv, "sweep")))
  },
  {
    name: "worker",
    description: "take sweep runs from a job queue and train them on this machine, in run folders under --root",
    load: () => import("./worker.js").then((m) => m.workerCommand)
  },
  {
    name: "bench",
    description: "throughput benchmark of training and inference, optionally beside the PyTorch reference",
    load: () => import("./bench.js").then((m) => m.benchCommand)
  },
  {
    name: "bench-data",
    description:
      "benchmarks of the data pipeline: --scaling measures patch-file build time and training memory against the patch set's size",
    load: () => import("./bench-data.js").then((m) => m.benchDataCommand)
  },
  {
    name: "paper",
    description:
      "the paper's experiments as one resumable plan: training runs, denoising, classification, the collapse, then report.html and summary.md",
    load: ({ argv }) => import("./paper.js").then((m) => m.paperCommand(argv))
  }
]

/** The registered command of that name, if there is one. */
export const commandEntry = (name: string): CommandEntry | undefined => commands.find((c) => c.name === name)

/** Every run a queue worker can take, by the name a job gives it. */
export const jobEntries: ReadonlyArray<JobEntry> = commands.flatMap((c) => c.jobs ?? [])
