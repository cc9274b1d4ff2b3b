/**
 * Whether the job-queue tests can have a Redis server: one at SPARSE_VDL_TEST_REDIS_URL, or a
 * redis-server program to start (which the tests of a password-protected server always need).
 * Outside CI a missing one skips those tests, as missing PyTorch and Chromium skip theirs; under
 * CI=true it fails them, naming the fix.
 */
import { accessSync, constants, readdirSync, readFileSync } from "node:fs"
import { delimiter, join, relative } from "node:path"

export const REDIS_URL_VARIABLE = "SPARSE_VDL_TEST_REDIS_URL"

export const INSTALL_REDIS = "apt-get install -y redis-server"

export const findBinary = (name: string): string | null => {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"]
  for (const dir of dirs) {
    if (dir === "") continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return null
}

/** Whether the tests that need a server of their own (`ownServer`), or any server, can run. */
export const redisAvailable = (ownServer: boolean): boolean => {
  const given = process.env[REDIS_URL_VARIABLE]
  return findBinary("redis-server") !== null || (!ownServer && given !== undefined && given !== "")
}

export const redisRequired = (): boolean => process.env.CI === "true"

/** The test files that use a Redis server, relative to the repository: those that call redisForTests. */
export const redisTestFiles = (repoRoot: string): string[] => {
  const found: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".test.ts") && readFileSync(path, "utf8").includes("redisForTests("))
        found.push(relative(repoRoot, path))
    }
  }
  walk(join(repoRoot, "test"))
  return found.sort()
}
