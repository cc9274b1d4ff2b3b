/**
 * Train one variant on MNIST and write a run folder; the command `sparse-vdl train`.
 *   npx tsx experiments/mnist.ts --help
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("train", "mnist")
