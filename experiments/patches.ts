/**
 * Natural-image patches: build the data set from folders of photos, or train on it; the command `sparse-vdl patches`.
 *   npx tsx experiments/patches.ts build --help
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { patchesCommand } from "../src/cli/patches.js"

runCli(commandCli(patchesCommand, "patches"))
