/**
 * npm's pack hooks for the README (package.json scripts). npm always packs the README.md of the
 * package root and offers no way to pack another file in its place, so `write` (prepack) swaps in
 * the README for the package page (scripts/readme-links.ts) and `restore` (postpack) puts the
 * repository's back. Both swaps are renames, so a reader never sees half a file; the repository's
 * README waits in .cache/ in between, and a pack that dies before postpack is recovered by the next
 * `write` or by `restore`.
 *
 * `refuse-directory-publish` (prepublishOnly): `npm publish` run in the folder reads the README
 * for the registry again after postpack has restored it, so the page would get the relative
 * links; publishing the packed tarball sends the README inside it.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { type PackedPackage, packedReadme } from "./readme-links.js"

const root = join(import.meta.dirname, "..")
const readmePath = join(root, "README.md")
const cache = join(root, ".cache")
const sourcePath = join(cache, "README.source.md")

/** Temp files in .cache (not the package root, where npm might pack them); one file system, so rename is atomic. */
const writeAtomic = (target: string, text: string): void => {
  mkdirSync(cache, { recursive: true })
  const temp = join(cache, `${basename(target)}.${process.pid}.tmp`)
  writeFileSync(temp, text)
  renameSync(temp, target)
}

interface PackageJson {
  readonly name: string
  readonly version: string
}

const readPackageJson = (): PackageJson => JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson

/** The files npm packs, asked of npm itself so that package.json "files" stays the one list. */
const packageFiles = (): PackedPackage => {
  const { name, version } = readPackageJson()
  const listed = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    env: { ...process.env, npm_config_update_notifier: "false" }
  })
  const [{ files }] = JSON.parse(listed) as Array<{ files: Array<{ path: string }> }>
  return { name, version, shipped: new Set(files.map((f) => f.path)) }
}

/**
 * The repository's README, from .cache/ while a pack is under way or died before postpack. README.md
 * must then be that text or its packed form: anything else is an edit made since, which neither
 * hook may overwrite.
 */
const repositoryReadme = (current: string, pkg: PackedPackage): string => {
  if (!existsSync(sourcePath)) return current
  const saved = readFileSync(sourcePath, "utf8")
  if (current !== saved && current !== packedReadme(saved, pkg))
    throw new Error(
      ".cache/README.source.md is left from a pack that did not finish, and README.md has changed since: keep the README you want as README.md, delete .cache/README.source.md, and pack again"
    )
  return saved
}

const write = (): void => {
  const pkg = packageFiles()
  const source = repositoryReadme(readFileSync(readmePath, "utf8"), pkg)
  const packed = packedReadme(source, pkg)
  writeAtomic(sourcePath, source)
  writeAtomic(readmePath, packed)
  const rewritten = packed.match(/https:\/\/unpkg\.com\//g)?.length ?? 0
  console.error(
    `README.md: ${rewritten} links to ${pkg.name}@${pkg.version} on unpkg for the package page; postpack restores it`
  )
}

const restore = (): void => {
  if (!existsSync(sourcePath)) return
  repositoryReadme(readFileSync(readmePath, "utf8"), packageFiles())
  renameSync(sourcePath, readmePath)
}

const commands: Record<string, () => void> = {
  write,
  restore,
  "refuse-directory-publish": () => {
    const { name, version } = readPackageJson()
    throw new Error(
      `npm publish in the package folder would send the registry the README with relative links (npm reads it again after postpack has restored it); publish the packed tarball instead: npm pack && npm publish ./${name}-${version}.tgz`
    )
  }
}

const command = commands[process.argv[2] ?? ""]
if (command === undefined) {
  console.error(`usage: tsx scripts/pack-readme.ts ${Object.keys(commands).join(" | ")}`)
  process.exit(2)
}
try {
  command()
} catch (e) {
  console.error(`pack-readme: ${(e as Error).message}`)
  process.exit(1)
}
