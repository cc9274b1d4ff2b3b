import * as Data from "effect/Data"

/**
 * Writing an output file (image, table, plot, checkpoint) failed. `problem`
 * says what went wrong in words; the message adds the usual ways out, because
 * the person who sees it is typically running an experiment from the CLI.
 */
export class WriteError extends Data.TaggedError("WriteError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return (
      `Could not write ${this.path}: ${this.problem}. ` +
      "Check that the folder exists and is writable, or pass another --out."
    )
  }
}
