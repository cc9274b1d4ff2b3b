/**
 * The README as the npm package page shows it. The page resolves relative links only through a
 * package's `repository` field, which this package has none of, so each relative link to a file
 * the tarball ships becomes an absolute link to that file of the same published version on unpkg,
 * and a link to a file the tarball leaves out is turned into its plain text. Pure: the caller says
 * which files are shipped (scripts/pack-readme.ts asks npm).
 */
import { posix } from "node:path"

export interface PackedPackage {
  readonly name: string
  readonly version: string
  /** The tarball's paths, relative to the package root, with forward slashes (npm pack --json's `files`). */
  readonly shipped: ReadonlySet<string>
}

/** A link the package page could not follow and the rewrite cannot turn into plain text. */
export class UnpackableLinkError extends Error {
  readonly _tag = "UnpackableLinkError"
}

/** unpkg serves every file of a published version at this address. */
const unpkgUrl = (pkg: PackedPackage, path: string): string => `https://unpkg.com/${pkg.name}@${pkg.version}/${path}`

/** A target with a scheme (https:, mailto:), protocol-relative, or a same-page anchor: left as it is. */
const isAbsolute = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")

/**
 * The absolute address for a relative target, anchor kept; undefined when the file is not in the
 * tarball (or the target climbs out of the package). Same-page anchors and absolute targets are
 * returned unchanged.
 */
const resolveTarget = (pkg: PackedPackage, target: string): string | undefined => {
  if (isAbsolute(target) || target.startsWith("#")) return target
  const hash = target.indexOf("#")
  const [pathPart, anchor] = hash < 0 ? [target, ""] : [target.slice(0, hash), target.slice(hash)]
  const query = pathPart.indexOf("?")
  const rawPath = query < 0 ? pathPart : pathPart.slice(0, query)
  let decoded: string
  try {
    decoded = decodeURI(rawPath)
  } catch {
    return undefined
  }
  const path = posix.normalize(decoded.replace(/^\/+/, ""))
  if (path === "." || path.startsWith("../") || !pkg.shipped.has(path)) return undefined
  return `${unpkgUrl(pkg, encodeURI(path))}${anchor}`
}

/**
 * One pass over prose: a code span is kept as written; an inline link or image `[text](target "title")`
 * is rewritten (its text too, for an image inside a link); an HTML `href`/`src` and a reference
 * definition `[label]: target` are rewritten when shipped, and refused otherwise, since their text
 * cannot stand alone.
 */
const TOKEN = new RegExp(
  [
    /(?<code>(?<ticks>`+)[\s\S]*?(?<!`)\k<ticks>(?!`))/.source,
    /(?<bang>!?)\[(?<text>(?:[^[\]\\]|\\.|\[(?:[^[\]\\]|\\.)*\])*)\]\(\s*(?<dest><[^<>\n]*>|[^\s()<>]+)(?<title>\s+(?:"[^"]*"|'[^']*'))?\s*\)/
      .source,
    /(?<=^ {0,3})(?<def>\[[^\]\n]+\]:[ \t]*)(?<defDest><[^<>\n]*>|\S+)/.source,
    /(?<attr>\b(?:href|src)=)(?<quote>["'])(?<attrDest>[^"'\n]*)\k<quote>/.source
  ].join("|"),
  "gm"
)

const rewriteProse = (pkg: PackedPackage, prose: string, where: (offset: number) => string): string =>
  prose.replace(TOKEN, (...args) => {
    const offset = args[args.length - 3] as number
    const g = args[args.length - 1] as Record<string, string | undefined>
    if (g.code !== undefined) return g.code
    if (g.text !== undefined) {
      const angle = g.dest!.startsWith("<")
      const dest = angle ? g.dest!.slice(1, -1) : g.dest!
      const text = rewriteProse(pkg, g.text, () => where(offset))
      const resolved = resolveTarget(pkg, dest)
      // Not shipped: the text (an image's alt text) stays, without a link to follow.
      if (resolved === undefined) return text
      return `${g.bang}[${text}](${angle ? `<${resolved}>` : resolved}${g.title ?? ""})`
    }
    const dest = g.defDest ?? g.attrDest!
    const bare = dest.startsWith("<") ? dest.slice(1, -1) : dest
    const resolved = resolveTarget(pkg, bare)
    if (resolved === undefined)
      throw new UnpackableLinkError(
        `README.md ${where(offset)}: "${bare}" is not in the package's tarball, and a ${
          g.def !== undefined ? "reference definition" : "HTML link"
        } cannot be reduced to its text; link it inline ([text](${bare})), or add the file to package.json "files"`
      )
    if (g.def !== undefined) return `${g.def}${dest.startsWith("<") ? `<${resolved}>` : resolved}`
    return `${g.attr}${g.quote}${resolved}${g.quote}`
  })

/** Rewrites every relative link of the prose outside fenced code blocks (``` or ~~~). */
export const packedReadme = (markdown: string, pkg: PackedPackage): string => {
  const lines = markdown.split("\n")
  const out: string[] = []
  let prose: string[] = []
  let proseStart = 0
  const flush = (): void => {
    if (prose.length === 0) return
    const text = prose.join("\n")
    const start = proseStart
    out.push(
      rewriteProse(pkg, text, (offset) => `line ${start + 1 + (text.slice(0, offset).match(/\n/g)?.length ?? 0)}`)
    )
    prose = []
  }
  let fence: string | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (fence === undefined) {
      const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)
      if (open === null) {
        if (prose.length === 0) proseStart = i
        prose.push(line)
        continue
      }
      flush()
      fence = open[1]
      out.push(line)
    } else {
      out.push(line)
      if (new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`).test(line)) fence = undefined
    }
  }
  flush()
  return out.join("\n")
}
