/**
 * Low-data classification on MNIST with the codes of trained runs; the command `sparse-vdl classify`.
 *   npx tsx experiments/classify.ts RUN... [--per-class 1,2,5,10,20,50,100] [--seeds 5]
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { classifyCommand } from "../src/cli/classify.js"

runCli(commandCli(classifyCommand, "classify"))
