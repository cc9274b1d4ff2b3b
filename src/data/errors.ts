import { Data } from "effect"
import type { ImageReadError } from "./images.js"
import type { LabelledFolderError } from "./labelled-folder.js"
import type { PatchFileError } from "./patch-file.js"
import type { PlotError } from "./plot.js"
import type { SafetensorsError } from "./safetensors.js"
import type { VectorFileError } from "./vector-file.js"
import type { WriteError } from "./write-error.js"

/**
 * A file that is not a valid IDX file of the kind expected. `problem` is written as a sentence
 * that already says how to fix it, so the message can be shown to a user as is.
 */
export class IdxFormatError extends Data.TaggedError("IdxFormatError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `Invalid IDX file ${this.file}: ${this.problem}`
  }
}

/** A place data should come from (a folder, a package, a set of mirrors) could not deliver it. */
export class DataSourceError extends Data.TaggedError("DataSourceError")<{
  readonly source: string
  readonly problem: string
}> {
  override get message(): string {
    return `Cannot load MNIST from ${this.source}: ${this.problem}`
  }
}

/** Bytes whose SHA-256 is not the published one: a corrupt download or a different file. */
export class ChecksumError extends Data.TaggedError("ChecksumError")<{
  readonly file: string
  readonly expected: string
  readonly actual: string
}> {
  override get message(): string {
    return (
      `SHA-256 mismatch for ${this.file}: expected ${this.expected}, got ${this.actual}. ` +
      `The file is corrupt or is not the expected one; delete it and download it again.`
    )
  }
}

/**
 * Every error the data layer fails with (files and formats), wherever its class lives. A new
 * error class of src/data joins this union, and the command line's table of messages
 * (src/cli/errors.ts) does not compile until it says how to show it.
 */
export type DataError =
  | IdxFormatError
  | DataSourceError
  | ChecksumError
  | ImageReadError
  | PatchFileError
  | PlotError
  | SafetensorsError
  | VectorFileError
  | WriteError
  | LabelledFolderError
