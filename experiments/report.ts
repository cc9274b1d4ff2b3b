/**
 * One self-contained HTML page comparing trained runs; the command `sparse-vdl report`.
 *   npx tsx experiments/report.ts RUN... --out report.html [--results DIR...]
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { reportCommand } from "../src/cli/report.js"

runCli(commandCli(reportCommand, "report"))
