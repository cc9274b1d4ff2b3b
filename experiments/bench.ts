/**
 * Throughput benchmark of training and inference, optionally beside the PyTorch reference; the command `sparse-vdl bench`.
 *   npx tsx experiments/bench.ts --mnist-dir path/to/mnist --batches 220 --vs-torch
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("bench")
