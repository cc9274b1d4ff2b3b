/**
 * Low-data classification on MNIST with the codes of trained runs; the command `sparse-vdl classify`.
 *   npx tsx experiments/classify.ts RUN... [--per-class 1,2,5,10,20,50,100] [--seeds 5]
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("classify")
