/**
 * Natural-image patches: build the data set from folders of photos, or train on it; the command `sparse-vdl patches`.
 *   npx tsx experiments/patches.ts build --help
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("patches")
