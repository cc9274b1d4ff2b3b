/**
 * Train every combination of models and λ values on MNIST and write the summary and figure; the command `sparse-vdl sweep`.
 *   npx tsx experiments/sweep.ts --model sdl,vdl --lambda 0.005,0.01,0.02 --epochs 1 --parallel 2 --out runs/sweep
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("sweep")
