/**
 * The paper's experiments as one resumable plan, then report.html and summary.md; the command `sparse-vdl paper` (docs/paper.md).
 *   npx tsx experiments/paper.ts --scale quick --mnist-dir data/mnist --images data/bsds500 --out runs/paper-quick --parallel 2
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("paper")
