import { Data } from "effect"

/** The data set cannot be built from what was given; `problem` says why and what to change. */
export class PatchBuildError extends Data.TaggedError("PatchBuildError")<{
  readonly problem: string
  /** The option fields the fix is in, for a front end to name them its own way. */
  readonly fields?: ReadonlyArray<string>
}> {
  override get message(): string {
    return `cannot build the patch data set: ${this.problem}`
  }
}

/** The loaded patch file cannot be trained on as it is. */
export class PatchDataError extends Data.TaggedError("PatchDataError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `patch file ${this.file}: ${this.problem}`
  }
}
