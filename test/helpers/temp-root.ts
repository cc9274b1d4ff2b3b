import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { INSTALL_REDIS, REDIS_URL_VARIABLE, redisAvailable, redisRequired, redisTestFiles } from "./redis-available.js"

/**
 * Global setup: every temp folder a test makes (mkdtemp under os.tmpdir(), in the test files and
 * in the commands they start) lands in one folder per run, removed when the run ends, so test
 * runs leave nothing behind in the system's temp folder. The forked test workers and their
 * children read TMPDIR from the environment set here.
 */
export default function setup(): () => void {
  // One line for the whole run, as the tests without a Redis server are skipped file by file (test/sweep/redis.ts).
  if (!redisRequired() && !redisAvailable(true)) {
    const some = redisAvailable(false)
      ? ` (those with a server of their own: ${REDIS_URL_VARIABLE} is set, but a password-protected server must be started here)`
      : ""
    console.warn(
      `skipping the job-queue tests${some} in ${redisTestFiles(join(__dirname, "..", "..")).join(", ")}: no redis-server found; install it with ${INSTALL_REDIS} (or set ${REDIS_URL_VARIABLE} to a running server's URL)`
    )
  }
  const root = mkdtempSync(join(tmpdir(), "sparse-vdl-tests-"))
  process.env.TMPDIR = root
  return () => rmSync(root, { recursive: true, force: true })
}
