/**
 * What the program answers before it loads any command: its version, the argument list put in the
 * order @effect/cli reads it (argv.ts), which registered command a line names, and `sparse-vdl --help`, the
 * list of commands from the registry. Nothing here loads @effect/cli, Effect or the library, so
 * that the answer is immediate.
 */
import { createRequire } from "node:module"
import { logLevelFirst } from "./argv.js"
import { type CommandEntry, commandEntry, commands } from "./commands/registry.js"

/** The package's version; package.json is two folders up from both src/cli and dist/cli. */
export const programVersion: string = (createRequire(import.meta.url)("../../package.json") as { version: string })
  .version

/** The words after the program's name, --log-level and its value left out. */
const commandWords = (argv: ReadonlyArray<string>): string[] => {
  const args = logLevelFirst(argv).slice(2)
  const skip = args[0] === "--log-level" ? 2 : args[0]?.startsWith("--log-level=") ? 1 : 0
  return args.slice(skip)
}

/** The registered command a command line names (its first word), if it names one. */
export const namedCommand = (argv: ReadonlyArray<string>): CommandEntry | undefined => {
  const [first] = commandWords(argv)
  return first === undefined ? undefined : commandEntry(first)
}

/** Whether the line asks for the program's own help: nothing after the name, or only --help. */
export const wantsProgramHelp = (argv: ReadonlyArray<string>): boolean => {
  const words = commandWords(argv)
  return words.length === 0 || (words.length === 1 && (words[0] === "--help" || words[0] === "-h"))
}

/** `sparse-vdl --help`: the commands and their descriptions, one line each, and the options every command takes. */
export const programHelp = (): string => {
  const width = Math.max(...commands.map((c) => c.name.length))
  const line = (name: string, text: string) => `  ${name.padEnd(width)}  ${text}`
  return [
    `sparse-vdl ${programVersion}: sparse coding with variance-regularised codes: train, evaluate and compare models`,
    "",
    "USAGE",
    "",
    "  sparse-vdl COMMAND [OPTIONS]",
    "  sparse-vdl COMMAND --help  (the command's options, each with its default)",
    "",
    "COMMANDS",
    "",
    ...commands.map((c) => line(c.name, c.description)),
    "",
    "OPTIONS OF EVERY COMMAND",
    "",
    "  --log-level all | trace | debug | info | warning | error | fatal | none",
    "      the least level of the messages shown (default info); anywhere on the line",
    "  --help, -h",
    "      the help of the program, or of the command it follows",
    "  --version",
    "      the program's version",
    "  --completions sh | bash | fish | zsh",
    "      a completion script for the shell",
    ""
  ].join("\n")
}
