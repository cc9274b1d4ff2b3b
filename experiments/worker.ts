/**
 * A sweep worker: trains the runs of a job queue on this machine; the command `sparse-vdl worker`.
 *   npx tsx experiments/worker.ts --queue redis://127.0.0.1:6379 --root SWEEP_FOLDER [--concurrency 1] [--exit-when-idle]
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("worker")
