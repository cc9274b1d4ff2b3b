/**
 * The public surface, entry point by entry point: the names each one exports (types marked
 * `type`), sorted, against a file committed beside this test. A change to what the package
 * exports then shows in review as a change to that file, never by accident.
 */
import { readFileSync } from "node:fs"
import { join, relative } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const repoRoot = join(__dirname, "..", "..")

/** Each entry of package.json's "exports" that is code, with the source file its build comes from. */
const entries = (): Array<{ readonly subpath: string; readonly source: string }> => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    exports: Record<string, string | { default: string }>
  }
  return Object.entries(pkg.exports)
    .filter(([subpath]) => subpath !== "./package.json")
    .map(([subpath, target]) => {
      const built = typeof target === "string" ? target : target.default
      const m = /^\.\/dist\/(.+)\.js$/.exec(built)
      if (m === null) throw new Error(`package.json exports ${subpath} as ${built}, which is not a file of dist/`)
      return { subpath, source: join(repoRoot, "src", `${m[1]}.ts`) }
    })
}

const program = (() => {
  let made: ts.Program | undefined
  return () => {
    if (made !== undefined) return made
    const config = ts.getParsedCommandLineOfConfigFile(
      join(repoRoot, "tsconfig.json"),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined }
    )
    if (config === undefined) throw new Error("tsconfig.json cannot be read")
    made = ts.createProgram({ rootNames: entries().map((e) => e.source), options: { ...config.options, noEmit: true } })
    return made
  }
})()

interface Exported {
  readonly name: string
  readonly isValue: boolean
  /** The source files that declare it, relative to the repository. */
  readonly declaredIn: ReadonlyArray<string>
}

const exportsOf = (source: string): Exported[] => {
  const p = program()
  const checker = p.getTypeChecker()
  const file = p.getSourceFile(source)
  if (file === undefined) throw new Error(`${source} is not part of the program`)
  const module = checker.getSymbolAtLocation(file)
  if (module === undefined) throw new Error(`${source} is not a module`)
  return checker.getExportsOfModule(module).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    return {
      name: s.name,
      isValue: (target.flags & ts.SymbolFlags.Value) !== 0,
      declaredIn: (target.declarations ?? []).map((d) => relative(repoRoot, d.getSourceFile().fileName))
    }
  })
}

const snapshotFile = (subpath: string) =>
  join(
    __dirname,
    "exported-names",
    `${subpath === "." ? "root" : subpath.replace(/^\.\//, "").replaceAll("/", "-")}.txt`
  )

describe("the package's exported names", () => {
  for (const { subpath, source } of entries()) {
    const name = subpath === "." ? "sparse-vdl" : `sparse-vdl/${subpath.slice(2)}`
    it(`of ${name} are the committed list`, async () => {
      const listed = exportsOf(source)
        .map((e) => (e.isValue ? e.name : `type ${e.name}`))
        .sort((a, b) => a.replace(/^type /, "").localeCompare(b.replace(/^type /, "")) || a.localeCompare(b))
      expect(listed.length, `${name} exports nothing`).toBeGreaterThan(0)
      const file = snapshotFile(subpath)
      try {
        await expect(`${listed.join("\n")}\n`).toMatchFileSnapshot(file)
      } catch (e) {
        // The snapshot's own message says only that it differs: say what the list is and how to accept a change.
        if (e instanceof Error) {
          e.message =
            `The names ${name} exports (${relative(repoRoot, source)}) differ from ${relative(repoRoot, file)}. ` +
            `If the change is deliberate, update the list with \`npx vitest run test/package/exported-names.test.ts -u\` and commit it. ${e.message}`
        }
        throw e
      }
    })
  }

  it("leave the kernels and the native matrix products' plumbing out", () => {
    const internal = [
      /^src\/models\/inference\/kernels\//,
      /^src\/models\/inference\/fused-step\.ts$/,
      /^src\/pipeline\/backend\/native-matmul\.ts$/
    ]
    // The one thing of native-matmul.ts a user meets is its error.
    const allowed = new Set(["NativeBlasError"])
    for (const { subpath, source } of entries()) {
      const leaked = exportsOf(source).filter(
        (e) => !allowed.has(e.name) && e.declaredIn.some((f) => internal.some((r) => r.test(f)))
      )
      expect(leaked.map((e) => `${subpath}: ${e.name} (${e.declaredIn.join(", ")})`)).toEqual([])
    }
  })

  it("keep the root to what a first program needs: every name of it is also in its area's entry", () => {
    const areas = new Set(
      entries()
        .filter((e) => e.subpath !== "." && e.subpath !== "./promise")
        .flatMap((e) => exportsOf(e.source).map((x) => x.name))
    )
    const root = entries().find((e) => e.subpath === ".")
    expect(root).toBeDefined()
    expect(
      exportsOf(root!.source)
        .filter((x) => !areas.has(x.name))
        .map((x) => x.name)
    ).toEqual([])
  })
})
