/**
 * Codes of new inputs (images, an Arrow file's rows, MNIST's test images) from a trained model, written as an Arrow table; the command `sparse-vdl encode`.
 *   npx tsx experiments/encode.ts --help
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("encode")
