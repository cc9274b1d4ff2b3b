/**
 * Denoising of trained runs on their test set; the command `sparse-vdl denoise`.
 *   npx tsx experiments/denoise.ts RUN... [--sigma 0.5,1,1.5,2] [--out DIR]
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { denoiseCommand } from "../src/cli/denoise.js"

runCli(commandCli(denoiseCommand, "denoise"))
