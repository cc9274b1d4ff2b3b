import { Data } from "effect"

/** A run folder cannot be evaluated: a file is missing or unreadable, or its data cannot be found. */
export class RunFolderReadError extends Data.TaggedError("RunFolderReadError")<{
  readonly folder: string
  readonly problem: string
}> {
  override get message(): string {
    return `run folder ${this.folder}: ${this.problem}`
  }
}

/** An evaluation was asked for something it cannot do with the runs and options given. */
export class EvaluationError extends Data.TaggedError("EvaluationError")<{
  readonly what: string
  readonly problem: string
  /** The option fields the fix is in, for a front end to name them its own way. */
  readonly fields?: ReadonlyArray<string>
}> {
  override get message(): string {
    return `${this.what}: ${this.problem}`
  }
}
