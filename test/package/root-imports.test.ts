/**
 * Importing the library's root loads the library, not the command line: no @effect/cli, and none
 * of the packages only commands use (the job queue, photo decoding, plots, the embedded digits).
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt, repoRoot } from "./built.js"

const commandLineOnly = ["@effect/cli", "bullmq", "ioredis", "sharp", "vega", "mnist"]

/** Records every module an import resolves (ESM, through a resolve hook) and every CommonJS module loaded. */
const hooks = `
import { appendFileSync } from "node:fs"
let log
export function initialize(data) { log = data.log }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(log, resolved.url + "\\n")
  return resolved
}
`

const probe = (entry: string, hooksFile: string, log: string) => `
import { createRequire, register } from "node:module"
import { appendFileSync } from "node:fs"
register(${JSON.stringify(pathToFileURL(hooksFile).href)}, { data: { log: ${JSON.stringify(log)} } })
await import(${JSON.stringify(pathToFileURL(entry).href)})
appendFileSync(${JSON.stringify(log)}, Object.keys(createRequire(import.meta.url).cache).join("\\n") + "\\n")
`

/** The packages under node_modules that a list of module URLs and paths comes from. */
const packagesOf = (lines: ReadonlyArray<string>): Set<string> => {
  const names = new Set<string>()
  for (const line of lines) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line.replace(/^file:\/\//, ""))
    if (m !== null) names.add(m[1]!)
  }
  return names
}

const loadedBy = async (entry: string): Promise<Set<string>> => {
  const dir = mkdtempSync(join(tmpdir(), "root-imports-"))
  const hooksFile = join(dir, "hooks.mjs")
  const log = join(dir, "loaded.txt")
  writeFileSync(hooksFile, hooks)
  writeFileSync(log, "")
  await promisify(execFile)(process.execPath, ["--input-type=module", "-e", probe(entry, hooksFile, log)], {
    cwd: repoRoot
  })
  return packagesOf(readFileSync(log, "utf8").split("\n"))
}

describe("the library's root", () => {
  beforeAll(ensureBuilt, 300_000)

  it("loads no package that only the command line needs", async () => {
    const loaded = await loadedBy(join(repoRoot, "dist", "index.js"))
    // The probe sees what the library does load, so an empty list cannot pass for a clean one.
    for (const name of ["effect", "@tensorflow/tfjs-core", "apache-arrow"]) expect(loaded, name).toContain(name)
    for (const name of commandLineOnly) expect(loaded, name).not.toContain(name)
  })

  it("and the Promise facade loads none either", async () => {
    const loaded = await loadedBy(join(repoRoot, "dist", "promise.js"))
    expect(loaded).toContain("effect")
    for (const name of commandLineOnly) expect(loaded, name).not.toContain(name)
  })

  for (const area of ["models", "data", "pipeline"]) {
    it(`and neither does sparse-vdl/${area}`, async () => {
      const loaded = await loadedBy(join(repoRoot, "dist", area, "index.js"))
      expect(loaded).toContain(area === "data" ? "apache-arrow" : "@tensorflow/tfjs-core")
      for (const name of commandLineOnly) expect(loaded, name).not.toContain(name)
    })
  }

  it("while the program loads them: the check sees a package when it is loaded", async () => {
    // The worker command loads the queue (and with it bullmq) only when it runs; the queue's module loads it at once.
    expect(await loadedBy(join(repoRoot, "dist", "cli", "commands", "worker.js"))).toContain("@effect/cli")
    expect(await loadedBy(join(repoRoot, "dist", "pipeline", "jobs", "queue.js"))).toContain("bullmq")
  })
})
