/**
 * One self-contained HTML page comparing trained runs; the command `sparse-vdl report`.
 *   npx tsx experiments/report.ts RUN... --out report.html [--results DIR...]
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("report")
