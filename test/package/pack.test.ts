/**
 * The package as a user gets it: packed by npm (no source maps, no install script), installed
 * from the tarball into a fresh project, two programs compiled there against its declarations
 * under the strictest compiler options with the libraries' declarations checked too
 * (skipLibCheck false), then run with plain node (no TypeScript loader): one trains VDL for two
 * epochs and writes a run folder, the other is the estimator API from fit to loadModel. The same
 * programs type-check with TypeScript's current major (7) in a second project. And the README's
 * first TypeScript block, the quick start a reader copies, compiled and run the same way. The
 * packed README's links reach the package's own files of the same version (scripts/pack-readme.ts).
 */
import { execFile } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt, repoRoot } from "./built.js"

const run = (file: string, args: ReadonlyArray<string>, cwd: string) =>
  promisify(execFile)(file, args, {
    cwd,
    maxBuffer: 1 << 26,
    env: { ...process.env, npm_config_update_notifier: "false" }
  }).catch((e: { message: string; stdout?: string; stderr?: string }) => {
    throw new Error(`${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`)
  })

/** The README's first ```ts block, as a reader copies it. */
const readmeQuickStart = (): string => {
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readFileSync(join(repoRoot, "README.md"), "utf8"))
  if (block === null) throw new Error("README.md has no ```ts block: the quick start is its first")
  return block[1]!
}

/** package.json's README hooks: the pack is run without scripts, so the test runs these itself. */
const README_WRITE = "tsx scripts/pack-readme.ts write"
const README_RESTORE = "tsx scripts/pack-readme.ts restore"

const manifest = () =>
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    version: string
    scripts: Record<string, string>
  }

/** Runs a package.json script line as npm would, with the package's bin folder on the path. */
const runScript = (line: string) => {
  const [command, ...args] = line.split(" ")
  return run(join(repoRoot, "node_modules", ".bin", command!), args, repoRoot)
}

/** The targets of a page's links outside fenced code blocks: inline links and images, reference definitions, HTML. */
const linksOf = (markdown: string): string[] => {
  let inFence = false
  const prose: string[] = []
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence
    else if (!inFence) prose.push(line)
  }
  const text = prose.join("\n")
  return [
    ...text.matchAll(/\]\(\s*<?([^)\s>]+)/g),
    ...text.matchAll(/^ {0,3}\[[^\]\n]+\]:[ \t]*<?([^\s>]+)/gm),
    ...text.matchAll(/\b(?:href|src)=["']([^"'\n]+)/g)
  ]
    .sort((a, b) => a.index - b.index)
    .map((m) => m[1]!)
}

/** TypeScript's current major when this was written (npm view typescript version): the consumer's programs must type-check with it too. */
const TYPESCRIPT_NEXT = "7.0.2"

/** The version this repository's own install has, so that npm finds it in its cache. */
const installed = (name: string): string =>
  (createRequire(join(repoRoot, "package.json"))(`${name}/package.json`) as { version: string }).version

describe("the packed package in a fresh project", () => {
  beforeAll(ensureBuilt, 300_000)

  it("installs, type-checks under strict options, and trains with plain node", async () => {
    const root = mkdtempSync(join(tmpdir(), "pack-"))
    // The build above is what is packed: prepack would only build it again, so its README step
    // and postpack's are run here around a pack without scripts.
    const scripts = manifest().scripts
    expect(scripts.prepack).toBe(`npm run build && ${README_WRITE}`)
    expect(scripts.postpack).toBe(README_RESTORE)
    const workingReadme = readFileSync(join(repoRoot, "README.md"), "utf8")
    await runScript(README_WRITE)
    const packed = await run(
      "npm",
      ["pack", "--ignore-scripts", "--pack-destination", root, "--json"],
      repoRoot
    ).finally(() => runScript(README_RESTORE))
    expect(readFileSync(join(repoRoot, "README.md"), "utf8"), "the working README after postpack").toBe(workingReadme)
    expect(existsSync(join(repoRoot, ".cache", "README.source.md"))).toBe(false)
    const [{ filename, files }] = JSON.parse(packed.stdout) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    const paths = files.map((f) => f.path)
    for (const f of [
      "package.json",
      "LICENSE",
      "README.md",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/promise.js",
      "dist/models/index.js",
      "dist/data/index.js",
      "dist/pipeline/index.js",
      "dist/cli/bin.js",
      "experiments/torch_energy.py",
      "experiments/torch_lista.py",
      "experiments/torch_load.py",
      "experiments/torch_reference.py",
      "experiments/sklearn_reference.py"
    ])
      expect(paths, f).toContain(f)
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).toEqual([])
    // Maps would point at src/, which is not shipped.
    expect(paths.filter((p) => p.endsWith(".map"))).toEqual([])

    const project = join(root, "consumer")
    mkdirSync(project)
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)
    )
    // Optional packages (the native tfjs builds, which download libtensorflow, and the FFI used
    // for a native BLAS) are left out: the consumer runs on the wasm backend.
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--omit=optional",
        "--ignore-scripts",
        join(root, filename),
        `effect@${installed("effect")}`,
        `@tensorflow/tfjs-core@${installed("@tensorflow/tfjs-core")}`,
        `@types/node@${installed("@types/node")}`
      ],
      project
    )
    const shipped = JSON.parse(readFileSync(join(project, "node_modules", "sparse-vdl", "package.json"), "utf8")) as {
      scripts?: Record<string, string>
    }
    // npm runs these in a consumer's install (and warns about them): none may be shipped.
    for (const script of ["preinstall", "install", "postinstall", "prepare"])
      expect(shipped.scripts?.[script], script).toBeUndefined()
    // The README the package page shows: each link to a file of this repository points at that
    // file of this very version on unpkg, and only at files the tarball holds.
    const packedReadme = readFileSync(join(project, "node_modules", "sparse-vdl", "README.md"), "utf8")
    const packedLinks = linksOf(packedReadme)
    const packageVersion = manifest().version
    const relative = packedLinks.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("#"))
    expect(relative, "relative links in the packed README").toEqual([])
    const unpkg = packedLinks.filter((t) => t.startsWith("https://unpkg.com/"))
    expect(unpkg.filter((t) => !t.startsWith(`https://unpkg.com/sparse-vdl@${packageVersion}/`))).toEqual([])
    expect(
      unpkg
        .map((t) => decodeURI(t.slice(`https://unpkg.com/sparse-vdl@${packageVersion}/`.length).split("#")[0]!))
        .filter((p) => !paths.includes(p)),
      "links to files the tarball does not hold"
    ).toEqual([])
    // None lost: every link of the working README to a packed file is there, anchor and all.
    const expected = linksOf(workingReadme)
      .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("#") && paths.includes(t.split("#")[0]!))
      .map((t) => `https://unpkg.com/sparse-vdl@${packageVersion}/${t}`)
    expect(expected.length).toBeGreaterThan(0)
    expect(unpkg).toEqual(expected)

    for (const f of ["main.ts", "fit.ts", "tsconfig.json"])
      copyFileSync(join(__dirname, "consumer", f), join(project, f))
    await run(
      process.execPath,
      [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
      project
    )

    const fitted = await run(process.execPath, [join("out", "fit.js")], project)
    const fitReport = JSON.parse(fitted.stdout.trim().split("\n").pop()!) as {
      rows: { train: number; val: number }
      codes: number
      reconstructed: number
      components: number
      equalAfterLoad: boolean
      score: { psnr: number }
    }
    expect(fitReport).toMatchObject({
      rows: { train: 540, val: 60 },
      codes: 600 * 32,
      reconstructed: 600 * 64,
      components: 32,
      equalAfterLoad: true
    })

    const runDir = join(root, "run")
    const { stdout } = await run(process.execPath, [join("out", "main.js"), runDir], project)
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as {
      psnr: number
      freshPsnr: number
      codes: number
      meanImagePsnr: number
      epochs: number
      liveTensors: number
      files: string[]
    }
    expect(report.epochs).toBe(2)
    expect(report.psnr).toBeGreaterThan(report.meanImagePsnr + 3)
    expect(report.freshPsnr).toBeGreaterThan(report.meanImagePsnr + 3)
    expect(report.codes).toBe(100 * 32)
    expect(report.liveTensors).toBe(0)
    expect(report.files).toEqual(["summary.json", "metrics.arrow", "checkpoint.safetensors", "last.safetensors"])
    expect(JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"))).toMatchObject({ model: "vdl", epochs: 2 })

    // The quick start, verbatim, under the same strict options; execFile rejects unless it exits 0.
    writeFileSync(join(project, "quickstart.mts"), readmeQuickStart())
    writeFileSync(
      join(project, "tsconfig.quickstart.json"),
      JSON.stringify({ extends: "./tsconfig.json", files: ["quickstart.mts"] })
    )
    await run(
      process.execPath,
      [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.quickstart.json"],
      project
    )
    const quick = await run(process.execPath, [join("out", "quickstart.mjs")], project)
    expect(quick.stdout).toMatch(/validation PSNR \d+\.\d+ dB/)

    // TypeScript's current major, in a project of its own: its lib.dom declares WebGPU, which
    // the @webgpu/types that tfjs-core pins declares again, so that package is replaced by an
    // empty one (docs/api.md, "A project's tsconfig").
    const tools = join(root, "typescript-next")
    mkdirSync(tools)
    writeFileSync(join(tools, "package.json"), JSON.stringify({ name: "tools", private: true }))
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", `typescript@${TYPESCRIPT_NEXT}`],
      tools
    )
    const next = join(root, "consumer-next")
    mkdirSync(join(next, "webgpu-types-from-lib-dom", "dist"), { recursive: true })
    writeFileSync(
      join(next, "webgpu-types-from-lib-dom", "package.json"),
      JSON.stringify({ name: "@webgpu/types", version: "0.0.0", types: "dist/index.d.ts" })
    )
    writeFileSync(join(next, "webgpu-types-from-lib-dom", "dist", "index.d.ts"), "export {}\n")
    writeFileSync(
      join(next, "package.json"),
      JSON.stringify(
        {
          name: "consumer-next",
          private: true,
          type: "module",
          overrides: { "@webgpu/types": "file:./webgpu-types-from-lib-dom" }
        },
        null,
        2
      )
    )
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--omit=optional",
        "--ignore-scripts",
        join(root, filename),
        `effect@${installed("effect")}`,
        `@tensorflow/tfjs-core@${installed("@tensorflow/tfjs-core")}`,
        `@types/node@${installed("@types/node")}`
      ],
      next
    )
    for (const f of ["main.ts", "fit.ts", "tsconfig.json"]) copyFileSync(join(__dirname, "consumer", f), join(next, f))
    const version = await run(join(tools, "node_modules", ".bin", "tsc"), ["--version"], next)
    expect(version.stdout).toContain(`Version ${TYPESCRIPT_NEXT}`)
    await run(join(tools, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json", "--noEmit"], next)
  }, 900_000)
})
