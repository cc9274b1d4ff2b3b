import * as Data from "effect/Data"

/** Own data that cannot be trained on as given. Kept apart from own-data.ts, which loads Arrow and TensorFlow.js, so that the command line's help does not. */
export class OwnDataError extends Data.TaggedError("OwnDataError")<{
  readonly source: string
  readonly problem: string
  /** The option fields the fix is in, for a front end to name them its own way. */
  readonly fields?: ReadonlyArray<string>
}> {
  override get message(): string {
    return `data ${this.source}: ${this.problem}`
  }
}
