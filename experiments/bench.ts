/**
 * Throughput benchmark of training and inference, optionally beside the PyTorch reference; the command `sparse-vdl bench`.
 *   npx tsx experiments/bench.ts --mnist-dir path/to/mnist --batches 220 --vs-torch
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { benchCommand } from "../src/cli/bench.js"

runCli(commandCli(benchCommand, "bench"))
