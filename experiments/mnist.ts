/**
 * Train one variant on MNIST and write a run folder; the command `sparse-vdl train`.
 *   npx tsx experiments/mnist.ts --help
 */
import { runCli } from "../src/cli/entry.js"
import { mnistCli } from "../src/cli/train.js"

runCli(mnistCli)
