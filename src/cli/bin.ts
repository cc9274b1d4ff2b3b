#!/usr/bin/env node
/**
 * sparse-vdl, the program: every command of the project under one name, run by node from the
 * built JavaScript, so that a process supervisor's signals reach the run itself.
 *   sparse-vdl train --model vdl --epochs 5 --out runs/vdl
 *   sparse-vdl --help | sparse-vdl COMMAND --help
 * The commands are those of the registry (commands/registry.ts). Only the one the line names is
 * loaded; the program's own help loads none.
 */
import { commands } from "./commands/registry.js"
import { namedCommand, programHelp, wantsProgramHelp } from "./program-help.js"

if (wantsProgramHelp(process.argv)) {
  process.stdout.write(programHelp())
} else {
  const { Command } = await import("@effect/cli")
  const { loadCommand, runCommand } = await import("./entry.js")
  const named = namedCommand(process.argv)
  // A line that names no command (a typo, --version, --completions) gets them all, for
  // @effect/cli's suggestions and completions.
  const loaded = await Promise.all(
    (named === undefined ? commands : [named]).map((entry) =>
      loadCommand(entry, { argv: process.argv, name: entry.name })
    )
  )
  const program = Command.make("sparse-vdl").pipe(
    Command.withDescription("sparse coding with variance-regularised codes: train, evaluate and compare models"),
    Command.withSubcommands(loaded as [(typeof loaded)[number], ...typeof loaded])
  )
  runCommand(program, "sparse-vdl")
}
