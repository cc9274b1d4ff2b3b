import * as Data from "effect/Data"

/**
 * A model setting has a value that cannot be used, named by its field in ModelSettings (or
 * "model" for the variant's name); a command line maps the field to its option.
 */
export class SettingsError extends Data.TaggedError("SettingsError")<{
  readonly setting: string
  readonly problem: string
}> {
  override get message(): string {
    return `setting ${this.setting}: ${this.problem}`
  }
}

/**
 * Every error the models layer fails with. The tensor maths itself does not fail (a shape that
 * cannot be is a defect); what it refuses is a setting. A new error class of src/models joins this
 * union, and the command line's table of messages (src/cli/errors.ts) does not compile until it
 * says how to show it.
 */
export type ModelsError = SettingsError
