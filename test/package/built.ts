/**
 * The package built once per test run: the first test file that needs dist/ runs `npm run build`
 * and the others wait for it. The marker is kept in the run's own temp folder
 * (test/helpers/temp-root.ts), so each run tests a build of the sources it runs on.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { promisify } from "node:util"

export const repoRoot = join(__dirname, "..", "..")

/** The program as npm links it, run by node from the built JavaScript. */
export const binPath = join(repoRoot, "dist", "cli", "bin.js")

const run = promisify(execFile)

const BUILD_WAIT_MS = 300_000

/** Resolves once dist/ holds a build of the current sources. */
export const ensureBuilt = async (): Promise<void> => {
  const marker = join(tmpdir(), "package-build")
  const done = join(marker, "done")
  const failed = join(marker, "failed")
  try {
    mkdirSync(marker)
  } catch {
    const started = Date.now()
    while (!existsSync(done)) {
      if (existsSync(failed)) throw new Error(`the build failed in another test file:\n${readFileSync(failed, "utf8")}`)
      if (Date.now() - started > BUILD_WAIT_MS)
        throw new Error("timed out waiting for another test file's build of dist/")
      await sleep(500)
    }
    return
  }
  try {
    await run("npm", ["run", "build"], { cwd: repoRoot, maxBuffer: 1 << 24 })
    writeFileSync(done, "")
  } catch (e) {
    const { stdout = "", stderr = "", message } = e as { stdout?: string; stderr?: string; message: string }
    writeFileSync(failed, `${message}\n${stdout}${stderr}`)
    throw e
  }
}
