/**
 * How the command line shows the library's errors: one entry per error tag of the three layers'
 * unions, so that a new error class does not compile until it has its line here. The library names
 * settings by their fields and says nothing of flags; here they become the options a person types.
 */
import type { DataError } from "../data/errors.js"
import type { ModelsError } from "../models/errors.js"
import type { PipelineError } from "../pipeline/errors.js"
import { asOptionError, optionFor } from "./options.js"

/** Every error the library fails with, by layer. */
export type LibraryError = ModelsError | DataError | PipelineError
export type LibraryErrorTag = LibraryError["_tag"]

type Shown<E> = (e: E) => string

/** The error's own message: it names the thing at fault and the fix. */
const asIs: Shown<{ readonly message: string }> = (e) => e.message

/** The message, then the options the fix is in, for errors that name the fields of a request. */
const withOptions: Shown<{ readonly message: string; readonly fields?: ReadonlyArray<string> }> = (e) =>
  e.fields === undefined
    ? e.message
    : `${e.message} (${e.fields.length === 1 ? "option" : "options"} ${e.fields.map(optionFor).join(", ")})`

/** Each error by its tag, as a person at the command line reads it. */
export const errorMessages: {
  readonly [Tag in LibraryErrorTag]: Shown<Extract<LibraryError, { readonly _tag: Tag }>>
} = {
  // models
  SettingsError: (e) => asOptionError(e).message,
  // data
  IdxFormatError: asIs,
  DataSourceError: asIs,
  ChecksumError: asIs,
  ImageReadError: asIs,
  PatchFileError: asIs,
  PlotError: asIs,
  SafetensorsError: asIs,
  VectorFileError: asIs,
  WriteError: asIs,
  LabelledFolderError: asIs,
  // pipeline
  BackendError: (e) => `${e.message} The option is --backend.`,
  ConfigError: asIs,
  DivergenceError: (e) => e.describe(optionFor),
  ResumeError: asIs,
  CheckpointError: asIs,
  MetricsFileError: asIs,
  NativeBlasError: asIs,
  EvaluationError: withOptions,
  RunFolderReadError: asIs,
  JobRefused: asIs,
  SweepRunError: asIs,
  SweepFailedError: asIs,
  QueueError: asIs,
  PaperStepError: asIs,
  PaperFailedError: asIs,
  PatchBuildError: withOptions,
  PatchDataError: asIs,
  OwnDataError: withOptions,
  LoadModelError: asIs,
  ModelInputError: asIs,
  RunFolderTakenError: asIs,
  TorchExportError: asIs,
  InputError: asIs
}

const isLibraryError = (e: unknown): e is LibraryError =>
  typeof e === "object" &&
  e !== null &&
  "_tag" in e &&
  typeof e._tag === "string" &&
  Object.hasOwn(errorMessages, e._tag)

/** A library error as the command line shows it; undefined for anything else. */
export const commandLineMessage = (e: unknown): string | undefined =>
  isLibraryError(e) ? (errorMessages[e._tag] as Shown<LibraryError>)(e) : undefined
