import { spawnSync } from "node:child_process"
import { basename, isAbsolute, relative } from "node:path"
import { escapeHtml } from "../report/html.js"

/** What made a figure: the command line and the code it ran, printed under every figure. */
export interface Provenance {
  readonly command: string
  /** The git commit (with a note when the tree had changes), or the package version outside a checkout. */
  readonly commit: string
  readonly generated: string
}

const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/** The command line as a shell would take it back. */
export const commandLine = (words: ReadonlyArray<string>): string => words.map(quote).join(" ")

/**
 * A word of a command line with its absolute path (alone, or after `--option=`) made relative to
 * `base`, the repository, when it lies inside, else cut to `.../` and its last part: a caption
 * names no folder of the machine it ran on.
 */
const portableWord = (word: string, base: string): string => {
  const eq = /^(--[\w-]+=)(.*)$/.exec(word)
  const [head, path] = eq === null ? ["", word] : [eq[1], eq[2]]
  if (!isAbsolute(path)) return word
  const inside = relative(base, path)
  if (inside === "") return `${head}.`
  if (!inside.startsWith("..") && !isAbsolute(inside)) return `${head}${inside}`
  return `${head}.../${basename(path)}`
}

/** commandLine of the words with every absolute path made portable (see portableWord). */
export const portableCommandLine = (words: ReadonlyArray<string>, base: string): string =>
  commandLine(words.map((w) => portableWord(w, base)))

/**
 * `git rev-parse HEAD` of the program's folder when it is a checkout (marked "+ changes" when
 * `git status` lists any), else the package's version.
 */
export const codeVersion = (root: string, version: string): string => {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8", timeout: 10_000 })
  const head = git("rev-parse", "HEAD")
  if (head.status !== 0 || !/^[0-9a-f]{40}$/.test(head.stdout.trim()))
    return `sparse-vdl ${version} (not a git checkout)`
  const status = git("status", "--porcelain", "--untracked-files=no")
  const dirty = status.status === 0 && status.stdout.trim() !== ""
  return `${head.stdout.trim()}${dirty ? " + uncommitted changes" : ""}`
}

export const provenanceLines = (p: Provenance): string[] => [`command: ${p.command}`, `commit: ${p.commit}`]

/**
 * The figure with its provenance as a footer inside the SVG, so that the file carries it when it
 * travels alone: the canvas grows by a line per entry, long lines are cut into pieces.
 */
export const svgWithFooter = (svg: string, lines: ReadonlyArray<string>, maxChars = 140): string => {
  const root = /<svg\b[^>]*>/.exec(svg)
  if (root === null) return svg
  const width = Number(/\swidth="([\d.]+)"/.exec(root[0])?.[1] ?? NaN)
  const height = Number(/\sheight="([\d.]+)"/.exec(root[0])?.[1] ?? NaN)
  if (!Number.isFinite(width) || !Number.isFinite(height)) return svg
  const pieces = lines.flatMap((line) => {
    const out: string[] = []
    for (let i = 0; i < line.length; i += maxChars) out.push((i > 0 ? "  " : "") + line.slice(i, i + maxChars))
    return out
  })
  const lineHeight = 14
  const extra = pieces.length * lineHeight + 10
  const newHeight = height + extra
  const newRoot = root[0]
    .replace(/\sheight="[\d.]+"/, ` height="${newHeight}"`)
    .replace(
      /\sviewBox="([\d.-]+) ([\d.-]+) ([\d.]+) [\d.]+"/,
      (_m, x, y, w) => ` viewBox="${x} ${y} ${w} ${newHeight}"`
    )
  const footer =
    `<g class="provenance"><rect x="0" y="${height}" width="${width}" height="${extra}" fill="white"/>` +
    pieces
      .map(
        (p, i) =>
          `<text x="8" y="${height + 14 + i * lineHeight}" font-family="monospace" font-size="10" fill="#555">${escapeHtml(p)}</text>`
      )
      .join("") +
    `</g>`
  return svg.replace(root[0], newRoot).replace(/<\/svg>\s*$/, `${footer}</svg>`)
}
