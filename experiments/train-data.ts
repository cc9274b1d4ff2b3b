/**
 * Train a variant on data of one's own (an Arrow file of vectors or a folder of images) and write a run folder; the command `sparse-vdl train-data`.
 *   npx tsx experiments/train-data.ts --help
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("train-data")
