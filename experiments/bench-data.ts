/**
 * Benchmarks of the data pipeline (issue 15); the command `sparse-vdl bench-data`.
 *   npx tsx experiments/bench-data.ts --scaling --images bsds500/train --images bsds500/val --test-images bsds500/test --rows 50000,200000,1000000
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("bench-data")
