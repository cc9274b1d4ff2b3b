/**
 * From a shell to a command: the argument list as @effect/cli reads it, a registered command
 * loaded with its description, and the run of a command line under runMain.
 */
import { Command } from "@effect/cli"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import type { Effect } from "effect"
import type { Progress } from "../pipeline/train/progress.js"
import { type AnyCommand, type CommandEntry, commandEntry, type LoadContext } from "./commands/registry.js"
import { commandChoices } from "./option-usage.js"
import { logLevelFirst } from "./argv.js"
import { programVersion } from "./program-help.js"
import { runMain } from "./run-main.js"

/** A command as a function of argv (runtime and script first), for running it in-process as well as from a shell. */
export const commandCli = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>, name: string) =>
  Command.run(command, { name, version: programVersion })

/**
 * Run a command line as typed in a shell: the process exits with the command's status. `choices`:
 * the options that take one of a few names, to name the option of a refused value.
 */
export const runCli = <E, A>(
  cli: (argv: ReadonlyArray<string>) => Effect.Effect<A, E, NodeContext.NodeContext | Progress>,
  argv: ReadonlyArray<string> = process.argv,
  choices: ReadonlyMap<string, ReadonlyArray<string>> = new Map()
) => {
  const args = logLevelFirst(argv)
  return runMain(cli(args), { choices, args: args.slice(2) })
}

/** A command run as the program `name` (a script of experiments/, or sparse-vdl itself). */
export const runCommand = (command: AnyCommand, name: string, argv: ReadonlyArray<string> = process.argv) =>
  runCli(commandCli(command, name), argv, commandChoices(command))

/** A registered command, loaded, with the line that describes it in the registry. */
export const loadCommand = async (entry: CommandEntry, context: LoadContext): Promise<AnyCommand> =>
  (await entry.load(context)).pipe(Command.withDescription(entry.description))

/** A registered command run as a program of its own: experiments/<script>.ts is `runRegistered("train", "mnist")`. */
export const runRegistered = async (name: string, as: string = name, argv: ReadonlyArray<string> = process.argv) => {
  const entry = commandEntry(name)
  if (entry === undefined) throw new Error(`no command ${name} is registered (src/cli/commands/registry.ts)`)
  return runCommand(await loadCommand(entry, { argv, name: as }), as, argv)
}
