/**
 * What the command line reads off its own option definitions, so that no second list can drift
 * from them: the options a queued job may pass to a command (as plain data for the library's job
 * check), and the options that take one of a few names (to name the option of a refused value).
 */
import { Command, CommandDescriptor, Options, type Usage } from "@effect/cli"
import * as HashMap from "effect/HashMap"
import type { OptionSpec, OptionTable } from "../pipeline/jobs/job.js"
import type { AnyCommand } from "./commands/registry.js"

interface NamedOption {
  readonly names: ReadonlyArray<string>
  /** The value's placeholder ("text", "file", …) or, for a choice, its choices as "a | b"; null for a switch. */
  readonly accepts: string | null
}

const namedOptions = (u: Usage.Usage): Array<NamedOption> => {
  switch (u._tag) {
    case "Named":
      return [{ names: u.names, accepts: u.acceptedValues._tag === "Some" ? u.acceptedValues.value : null }]
    case "Optional":
    case "Repeated":
      return namedOptions(u.usage)
    case "Alternation":
    case "Concat":
      return [...namedOptions(u.left), ...namedOptions(u.right)]
    default:
      return []
  }
}

/** Text options that name the run folder; the command reads them as text, so their type cannot say so. */
const OUTPUT_PATH_OPTIONS: ReadonlySet<string> = new Set(["--out", "--resume"])
/** The placeholders @effect/cli shows for path options (Options.file, Options.directory). */
const PATH_PLACEHOLDERS: ReadonlySet<string> = new Set(["file", "directory", "path"])

/**
 * The options a command takes, read from the very option definitions the command parses its
 * command line with: a flag without an accepted value is a switch; file and directory options
 * name inputs; --out and --resume name the run folder.
 */
export const optionTable = (options: Readonly<Record<string, Options.Options<unknown>>>): OptionTable => {
  const table = new Map<string, OptionSpec>()
  for (const option of Object.values(options)) {
    for (const { names, accepts } of namedOptions(Options.getUsage(option))) {
      for (const name of names) {
        const path = OUTPUT_PATH_OPTIONS.has(name)
          ? "output"
          : accepts !== null && PATH_PLACEHOLDERS.has(accepts)
            ? "input"
            : null
        table.set(name, { takesValue: accepts !== null, path })
      }
    }
  }
  return table
}

/** @effect/cli shows a choice's accepted values as "a | b | c" where other options show a placeholder. */
const CHOICES = " | "

/**
 * Every option of a command that takes one of a few names, with its names: those of the command
 * and of its subcommands (one level down, as the program's commands have). @effect/cli refuses
 * another value without saying which option it was; runMain says it with this.
 */
export const commandChoices = (command: AnyCommand): ReadonlyMap<string, ReadonlyArray<string>> => {
  const usages = [
    Command.getUsage(command),
    ...[...HashMap.values(Command.getSubcommands(command))].map(CommandDescriptor.getUsage)
  ]
  const choices = new Map<string, ReadonlyArray<string>>()
  for (const { names, accepts } of usages.flatMap(namedOptions)) {
    if (accepts === null || !accepts.includes(CHOICES)) continue
    for (const name of names) if (name.startsWith("--")) choices.set(name, accepts.split(CHOICES))
  }
  return choices
}
