#!/usr/bin/env node
/**
 * sparse-vdl, the program: every command of the project under one name, run by node from the
 * built JavaScript, so that a process supervisor's signals reach the run itself.
 *   sparse-vdl train --model vdl --epochs 5 --out runs/vdl
 *   sparse-vdl --help | sparse-vdl COMMAND --help
 */
import { Command } from "@effect/cli"
import { benchCommand } from "./bench.js"
import { benchDataCommand } from "./bench-data.js"
import { classifyCommand } from "./classify.js"
import { denoiseCommand } from "./denoise.js"
import { encodeCommand } from "./encode.js"
import { commandCli, logLevelFirst, runCli } from "./entry.js"
import { exportTorchCommand } from "./export-torch.js"
import { paperCommand } from "./paper.js"
import { patchesCommand } from "./patches.js"
import { reportCommand } from "./report.js"
import { sweepCommand } from "./sweep.js"
import { trainCommand } from "./train.js"
import { trainDataCommand } from "./train-data.js"
import { workerCommand } from "./worker.js"

/** What was typed after the first occurrence of a command's name: the sweep hands it on to its runs. */
const typedAfter = (name: string): string[] => {
  const args = logLevelFirst(process.argv).slice(2)
  return args.slice(args.indexOf(name) + 1)
}

const program = Command.make("sparse-vdl").pipe(
  Command.withDescription("sparse coding with variance-regularised codes: train, evaluate and compare models"),
  Command.withSubcommands([
    trainCommand("train"),
    patchesCommand,
    trainDataCommand,
    encodeCommand,
    exportTorchCommand,
    denoiseCommand,
    classifyCommand,
    reportCommand,
    sweepCommand(typedAfter("sweep")),
    workerCommand,
    benchCommand,
    benchDataCommand,
    paperCommand(process.argv)
  ])
)

runCli(commandCli(program, "sparse-vdl"))
