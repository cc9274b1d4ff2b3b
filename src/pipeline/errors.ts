import * as Data from "effect/Data"
import type { EvaluationError, RunFolderReadError } from "./evaluation/errors.js"
import type { QueueError, SweepFailedError, SweepRunError } from "./jobs/errors.js"
import type { JobRefused } from "./jobs/job.js"
import type { NativeBlasError } from "./backend/native-matmul.js"
import type { PaperFailedError, PaperStepError } from "./paper/steps.js"
import type { PatchBuildError, PatchDataError } from "./patches/errors.js"
import type { InputError } from "./sources/checks.js"
import type { OwnDataError } from "./sources/own-data-error.js"
import type { LoadModelError, ModelInputError, TorchExportError } from "./use/errors.js"

// Defined with the model settings it is about; the pipeline raises it when it resolves them.
export { SettingsError } from "../models/errors.js"

/** The requested compute backend could not be loaded, or not as its settings ask. */
export class BackendError extends Data.TaggedError("BackendError")<{
  readonly backend: string
  readonly problem: string
  /** What to do about it, where that is not to ask for another backend. */
  readonly fix?: string
}> {
  override get message(): string {
    return `backend ${this.backend} cannot be used: ${this.problem}. ${this.fix ?? "Ask for one that loads (wasm and cpu always do), or for none to pick the fastest automatically."}`
  }
}

/** A command-line option has a value that cannot be used. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly option: string
  readonly problem: string
}> {
  override get message(): string {
    return `option ${this.option}: ${this.problem}`
  }
}

/**
 * A NaN or an infinity appeared in training: the run stops rather than continue on garbage, and
 * writes nothing more, so the checkpoints on disk are the last good ones.
 */
export class DivergenceError extends Data.TaggedError("DivergenceError")<{
  /** 0-based. */
  readonly epoch: number
  /** 0-based training batch; null when it was the validation pass after the epoch. */
  readonly batch: number | null
  /** What was not finite, as a noun phrase: "the FISTA codes", "the model tensor decoder.W1 after the update". */
  readonly term: string
  /** What is kept on disk, when a run folder is being written: a sentence. */
  readonly kept?: string
}> {
  override get message(): string {
    return this.describe((setting) => setting)
  }

  /** The message with each setting it advises on written as `name` writes it (a command line: its option). */
  describe(name: (setting: "decoderLr" | "encoderLr" | "eta") => string): string {
    const where =
      this.batch === null ? `epoch ${this.epoch + 1}, validation` : `epoch ${this.epoch + 1}, batch ${this.batch + 1}`
    return (
      `training diverged at ${where}: NaN or infinity in ${this.term}. ` +
      `Lower the learning rates (${name("decoderLr")}, ${name("encoderLr")}) or the FISTA step (${name("eta")}), or set ${name("eta")} to lipschitz.` +
      (this.kept === undefined ? "" : ` ${this.kept}`)
    )
  }
}

/** A run folder cannot be continued: nothing to resume from, or its files disagree. */
export class ResumeError extends Data.TaggedError("ResumeError")<{
  readonly folder: string
  /** A sentence that ends with the way out. */
  readonly problem: string
}> {
  override get message(): string {
    return `cannot resume the run in ${this.folder}: ${this.problem}`
  }
}

/** A checkpoint cannot be read back into a model. */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `checkpoint ${this.file}: ${this.problem}`
  }
}

/** A metrics table (metrics.arrow) that is not one this program wrote. */
export class MetricsFileError extends Data.TaggedError("MetricsFileError")<{
  readonly file: string
  /** A sentence that ends with the way out. */
  readonly problem: string
}> {
  override get message(): string {
    return `metrics file ${this.file}: ${this.problem}`
  }
}

/**
 * A new run was to start in a folder that holds another run: a run with other settings, seed,
 * data or number of epochs, or one whose files cannot be read. A new run replaces another only
 * when asked to (`overwrite`, --overwrite); the same run asked for again is no other run.
 */
export class RunFolderTakenError extends Data.TaggedError("RunFolderTakenError")<{
  readonly folder: string
  /** The run in the folder, in words. */
  readonly run: string
  /** What differs from the run asked for. */
  readonly differs: string
  /** Whether the run in the folder can be continued with --resume. */
  readonly resumable: boolean
}> {
  override get message(): string {
    return (
      `${this.folder} holds another run (${this.run}): ${this.differs}. A new run does not replace it: choose another folder` +
      `${this.resumable ? `, continue that run with --resume ${this.folder}` : ""}, or replace it on purpose with --overwrite (the option overwrite: true from code)`
    )
  }
}

/**
 * Every error the pipeline defines (training, evaluation, jobs, the paper's plan, data sources,
 * using a trained model), wherever its class lives. A pipeline function may also fail with a
 * models or data error (ModelsError, DataError), which keep their own unions. A new error class of
 * src/pipeline joins this union, and the command line's table of messages (src/cli/errors.ts)
 * does not compile until it says how to show it.
 */
export type PipelineError =
  | BackendError
  | ConfigError
  | DivergenceError
  | ResumeError
  | CheckpointError
  | MetricsFileError
  | NativeBlasError
  | EvaluationError
  | RunFolderReadError
  | JobRefused
  | SweepRunError
  | SweepFailedError
  | QueueError
  | PaperStepError
  | PaperFailedError
  | PatchBuildError
  | PatchDataError
  | OwnDataError
  | LoadModelError
  | ModelInputError
  | RunFolderTakenError
  | TorchExportError
  | InputError
