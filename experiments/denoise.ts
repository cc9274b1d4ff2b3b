/**
 * Denoising of trained runs on their test set; the command `sparse-vdl denoise`.
 *   npx tsx experiments/denoise.ts RUN... [--sigma 0.5,1,1.5,2] [--out DIR]
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("denoise")
