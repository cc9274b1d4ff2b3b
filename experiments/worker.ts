/**
 * A sweep worker: trains the runs of a job queue on this machine; the command `sparse-vdl worker`.
 *   npx tsx experiments/worker.ts --queue redis://127.0.0.1:6379 --root SWEEP_FOLDER [--concurrency 1] [--exit-when-idle]
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { workerCommand } from "../src/cli/worker.js"

runCli(commandCli(workerCommand, "worker"))
