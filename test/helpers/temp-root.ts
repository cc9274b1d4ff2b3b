import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Global setup: every temp folder a test makes (mkdtemp under os.tmpdir(), in the test files and
 * in the commands they start) lands in one folder per run, removed when the run ends, so test
 * runs leave nothing behind in the system's temp folder. The forked test workers and their
 * children read TMPDIR from the environment set here.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "sparse-vdl-tests-"))
  process.env.TMPDIR = root
  return () => rmSync(root, { recursive: true, force: true })
}
