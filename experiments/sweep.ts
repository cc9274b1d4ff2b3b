/**
 * Train every combination of models and λ values on MNIST and write the summary and figure; the command `sparse-vdl sweep`.
 *   npx tsx experiments/sweep.ts --model sdl,vdl --lambda 0.005,0.01,0.02 --epochs 1 --parallel 2 --out runs/sweep
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { sweepCommand } from "../src/cli/sweep.js"

runCli(commandCli(sweepCommand(process.argv.slice(2)), "sweep"))
