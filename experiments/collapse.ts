/**
 * The collapse that the regularisers prevent, measured: per epoch, the mean ℓ1 norm of the codes
 * and the mean norm of the decoder's atoms (the columns of A the codes multiply), for each model,
 * with the usual training and evaluation stages. Without a regulariser ("noreg") the codes
 * collapse and the atoms that still carry the reconstruction grow; VDL's variance hinge keeps the
 * codes up, while its unconstrained decoder grows more slowly (numbers of the default run in
 * docs/collapse.md). The command `sparse-vdl paper collapse`; the computation is in
 * src/pipeline/paper/collapse.ts.
 *   npx tsx experiments/collapse.ts [--model noreg,vdl] [--epochs 10] [--train-size N] [--out DIR]
 */
import { paperCollapseCommand } from "../src/cli/commands/paper.js"
import { runCommand } from "../src/cli/entry.js"

runCommand(paperCollapseCommand, "collapse")
