/**
 * From a shell to a command: the program's version, the argument list as @effect/cli reads it,
 * and the run of a command line under runMain.
 */
import { Command } from "@effect/cli"
import type { NodeContext } from "@effect/platform-node"
import type { Effect } from "effect"
import { createRequire } from "node:module"
import type { Progress } from "../pipeline/train/progress.js"
import { choiceFlags } from "./options.js"
import { runMain } from "./run-main.js"

/** The package's version; package.json is two folders up from both src/cli and dist/cli. */
export const programVersion: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version

/**
 * @effect/cli takes --log-level only before everything else (before the subcommand, before the
 * first option); a person adds it at the end of the line as often as not. It goes first here,
 * with its value, wherever it was typed.
 */
export const logLevelFirst = (argv: ReadonlyArray<string>): string[] => {
  const [runtime = "node", script = "", ...rest] = argv
  const level: string[] = []
  const others: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]
    if (word === "--log-level" && i + 1 < rest.length) level.push(word, rest[++i])
    else if (word.startsWith("--log-level=")) level.push(word)
    else others.push(word)
  }
  return [runtime, script, ...level, ...others]
}

/** A command as a function of argv (runtime and script first), for running it in-process as well as from a shell. */
export const commandCli = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>, name: string) =>
  Command.run(command, { name, version: programVersion })

/** Run a command line as typed in a shell: the process exits with the command's status. */
export const runCli = <E, A>(
  cli: (argv: ReadonlyArray<string>) => Effect.Effect<A, E, NodeContext.NodeContext | Progress>,
  argv: ReadonlyArray<string> = process.argv
) => {
  const args = logLevelFirst(argv)
  return runMain(cli(args), { choices: choiceFlags, args: args.slice(2) })
}
