/**
 * The documentation's code, as a reader would use it: every ```ts block of README.md and
 * docs/*.md is type-checked with the project's compiler settings made as strict as a reader's
 * project may be (noUncheckedIndexedAccess, exactOptionalPropertyTypes; see STRICT) and, unless its fence line marks
 * it `// fragment`, run to its end with tsx. A fragment is type-checked inside a wrapper: its
 * `import` and `declare` lines at the top of a module, the rest as the body of a generator given
 * to Effect.gen. A block imports the package as a reader's project does, by name ("sparse-vdl",
 * "sparse-vdl/pipeline", "sparse-vdl/promise" ...), never by a path into the sources; inside the repository the name resolves
 * by the package's self-reference to dist/, so dist/ is built from the current sources first.
 * Every relative link of the same pages must point at a file of the repository, and
 * an anchor at one of its headings.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import ts from "typescript"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../package/built.js"

const repoRoot = resolve(__dirname, "..", "..")
const blockDir = join(repoRoot, ".cache", "doc-blocks")

const documents = (): string[] => [
  join(repoRoot, "README.md"),
  ...readdirSync(join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => join(repoRoot, "docs", name))
]

interface Block {
  /** Where it is, for messages: the page and the line of its opening fence. */
  readonly where: string
  readonly markdown: string
  /** The opening fence's line on the page, 1-based. */
  readonly fenceLine: number
  readonly code: string
  readonly fragment: boolean
  readonly file: string
}

/** The ```ts blocks of one page, in order. */
const blocksOf = (markdown: string): Block[] => {
  const lines = readFileSync(markdown, "utf8").split("\n")
  const page = relative(repoRoot, markdown)
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)(.*)$/.exec(lines[i])
    if (open === null) continue
    const [, indent, fence, language, rest] = open
    const body: string[] = []
    let end = i + 1
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) body.push(lines[end++].slice(indent.length))
    if (language === "ts" || language === "typescript") {
      const name = `${page.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-")}-line-${i + 1}.ts`
      blocks.push({
        where: `${page}:${i + 1}`,
        markdown,
        fenceLine: i + 1,
        code: body.join("\n"),
        fragment: /\/\/\s*fragment\b/.test(rest),
        file: join(blockDir, name)
      })
    }
    i = end
  }
  return blocks
}

/** The modules a block imports by a path rather than a package name. */
const pathImports = (code: string): string[] =>
  [...code.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+|\/[^"']+)["']/g)].map((m) => m[1]!)

/** The module a block becomes: a program as it is, a fragment inside its wrapper. */
const moduleOf = (block: Block): string => {
  const code = block.code
  if (!block.fragment) return code
  const lines = code.split("\n")
  const top = lines.filter((l) => /^(import|declare)\s/.test(l))
  const body = lines.filter((l) => !/^(import|declare)\s/.test(l))
  return [
    `import { Effect as DocBlockEffect } from "effect"`,
    ...top,
    "",
    "export const fragment = DocBlockEffect.gen(function* () {",
    ...body.map((l) => `  ${l}`),
    "})",
    ""
  ].join("\n")
}

const allBlocks = documents().flatMap(blocksOf)

/** What a reader's strict project adds to ours (docs/api.md gives the whole consumer tsconfig). */
const STRICT = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true } as const

/** Runs a program block with tsx from the repository root; at most two at once on a small machine. */
const run = (() => {
  let running = 0
  const waiting: Array<() => void> = []
  const slot = () => (running < 2 ? Promise.resolve() : new Promise<void>((resolveSlot) => waiting.push(resolveSlot)))
  return async (block: Block): Promise<{ status: number | null; output: string }> => {
    await slot()
    running += 1
    try {
      return await new Promise((resolveRun, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", block.file], {
          cwd: repoRoot,
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d))
        child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d))
        const timer = setTimeout(() => child.kill("SIGKILL"), 110_000)
        child.on("error", reject)
        child.on("close", (status) => {
          clearTimeout(timer)
          resolveRun({ status, output })
        })
      })
    } finally {
      running -= 1
      waiting.shift()?.()
    }
  }
})()

describe("code blocks of the README and docs/", () => {
  const diagnostics = new Map<string, string[]>()

  // The blocks import "sparse-vdl", which resolves by the package's self-reference to dist/.
  beforeAll(async () => {
    await ensureBuilt()
    rmSync(blockDir, { recursive: true, force: true })
    mkdirSync(blockDir, { recursive: true })
    for (const block of allBlocks) writeFileSync(block.file, moduleOf(block))
    const config = ts.getParsedCommandLineOfConfigFile(
      join(repoRoot, "tsconfig.json"),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined }
    )
    if (config === undefined) throw new Error("tsconfig.json cannot be read")
    const program = ts.createProgram({
      rootNames: allBlocks.map((b) => b.file),
      options: { ...config.options, ...STRICT, noEmit: true }
    })
    const format = (d: ts.Diagnostic) => {
      const line =
        d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
      // A program's lines are the page's, one for one; a fragment's are rearranged by its wrapper.
      const block = allBlocks.find((b) => d.file !== undefined && b.file === resolve(d.file.fileName))
      const where =
        block === undefined
          ? ""
          : block.fragment
            ? ` (${block.where})`
            : ` (${relative(repoRoot, block.markdown)}:${block.fenceLine + line})`
      return `${d.file === undefined ? "" : `${relative(repoRoot, d.file.fileName)}:${line}${where}: `}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
    }
    // The blocks' own diagnostics only: src/ is the type check's to report, and checking it all again would double the time.
    const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(format)
    for (const block of allBlocks) {
      const source = program.getSourceFile(block.file)
      if (source === undefined) diagnostics.set(block.file, [`${relative(repoRoot, block.file)} is not in the program`])
      else
        diagnostics.set(block.file, [
          ...global,
          ...[...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(format)
        ])
    }
  }, 420_000)

  it("finds the blocks: the README's quick start and every page's examples", () => {
    expect(allBlocks.filter((b) => b.markdown.endsWith("README.md")).length).toBeGreaterThan(0)
    expect(allBlocks.filter((b) => b.markdown.endsWith("api.md") && b.fragment).length).toBeGreaterThan(0)
  })

  for (const block of allBlocks) {
    it(`${block.where} imports packages, not paths`, () => {
      expect(pathImports(block.code)).toEqual([])
    })
    it(`${block.where} type-checks${block.fragment ? " (a fragment)" : ""}`, () => {
      expect(diagnostics.get(block.file), `the module written to ${relative(repoRoot, block.file)}`).toEqual([])
    })
  }

  describe.concurrent("runs", () => {
    for (const block of allBlocks.filter((b) => !b.fragment)) {
      it(`${block.where} runs to its end`, async () => {
        const { status, output } = await run(block)
        expect(status, `${relative(repoRoot, block.file)} printed:\n${output.slice(-4000)}`).toBe(0)
      }, 120_000)
    }
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-")

/** A page's lines outside its fenced code blocks. */
const proseLines = (markdown: string): string[] => {
  let inFence = false
  return readFileSync(markdown, "utf8")
    .split("\n")
    .filter((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence
        return false
      }
      return !inFence
    })
}

const anchorsOf = (markdown: string): Set<string> =>
  new Set(
    proseLines(markdown).flatMap((line) => {
      const heading = /^#{1,6}\s+(.*)$/.exec(line)
      return heading === null ? [] : [anchorOf(heading[1])]
    })
  )

describe("links of the README and docs/", () => {
  for (const markdown of documents()) {
    it(`${relative(repoRoot, markdown)}: every relative link reaches a file of the repository`, () => {
      const text = proseLines(markdown).join("\n")
      const broken: string[] = []
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue
        const [path, anchor] = target.split("#")
        const file = path === "" ? markdown : resolve(dirname(markdown), path)
        if (!file.startsWith(repoRoot + sep)) broken.push(`${target}: outside the repository`)
        else if (!existsSync(file)) broken.push(`${target}: no such file`)
        else if (
          anchor !== undefined &&
          statSync(file).isFile() &&
          file.endsWith(".md") &&
          !anchorsOf(file).has(anchor)
        )
          broken.push(`${target}: no heading with that anchor`)
      }
      expect(broken).toEqual([])
    })
  }
})
