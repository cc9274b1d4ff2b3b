/**
 * The README rewrite that the pack hooks apply (scripts/readme-links.ts): relative links to
 * shipped files become this version's files on unpkg, anchors kept; links to files the tarball
 * leaves out become their text; code and external links stay as written.
 */
import { describe, expect, it } from "vitest"
import { packedReadme, UnpackableLinkError } from "../../scripts/readme-links.js"

const pkg = {
  name: "sparse-vdl",
  version: "1.2.3",
  shipped: new Set(["README.md", "LICENSE", "docs/api.md", "docs/cli.md", "docs/atoms.png", "docs/two words.md"])
}
const at = (path: string) => `https://unpkg.com/sparse-vdl@1.2.3/${path}`

describe("packedReadme", () => {
  it("points a relative link at the shipped file of the same version, keeping its anchor and title", () => {
    expect(packedReadme("the [data sources](docs/cli.md#data-sources) it reads", pkg)).toBe(
      `the [data sources](${at("docs/cli.md#data-sources")}) it reads`
    )
    expect(packedReadme('[API](./docs/api.md "the API")', pkg)).toBe(`[API](${at("docs/api.md")} "the API")`)
    expect(packedReadme("[licence](docs/../LICENSE) and [`api`](/docs/api.md)", pkg)).toBe(
      `[licence](${at("LICENSE")}) and [\`api\`](${at("docs/api.md")})`
    )
    expect(packedReadme("[two](<docs/two words.md>) [two](docs/two%20words.md#x)", pkg)).toBe(
      `[two](<${at("docs/two%20words.md")}>) [two](${at("docs/two%20words.md#x")})`
    )
  })

  it("turns a link to a file the tarball leaves out into its text", () => {
    expect(
      packedReadme("see [the results](docs/results/summary.md#mnist), [above](../README.md) and [src](src)", pkg)
    ).toBe("see the results, above and src")
  })

  it("leaves external links, same-page anchors and autolinks as they are", () => {
    const text =
      "[Effect](https://effect.website) [mail](mailto:a@b.c) [up](#results) <https://unpkg.com> [x](//cdn.example/x)"
    expect(packedReadme(text, pkg)).toBe(text)
  })

  it("rewrites images, and an image inside a link, and reduces an unshipped image to its alt text", () => {
    expect(packedReadme("![atoms](docs/atoms.png)", pkg)).toBe(`![atoms](${at("docs/atoms.png")})`)
    expect(packedReadme("![curve](docs/results/curve.png) after", pkg)).toBe("curve after")
    expect(packedReadme("[![atoms](docs/atoms.png)](docs/results/report.html)", pkg)).toBe(
      `![atoms](${at("docs/atoms.png")})`
    )
    expect(packedReadme("[![atoms](docs/atoms.png)](docs/api.md)", pkg)).toBe(
      `[![atoms](${at("docs/atoms.png")})](${at("docs/api.md")})`
    )
  })

  it("rewrites reference definitions and HTML links to shipped files", () => {
    expect(packedReadme("[api]: docs/api.md#evaluation\n\n<img src=\"docs/atoms.png\"> <a href='LICENSE'>", pkg)).toBe(
      `[api]: ${at("docs/api.md#evaluation")}\n\n<img src="${at("docs/atoms.png")}"> <a href='${at("LICENSE")}'>`
    )
  })

  it("refuses a reference definition or an HTML link to an unshipped file, whose text cannot stand alone", () => {
    expect(() => packedReadme("one\n[r]: docs/results/r.md", pkg)).toThrow(UnpackableLinkError)
    expect(() => packedReadme("one\n[r]: docs/results/r.md", pkg)).toThrow(/line 2: "docs\/results\/r\.md"/)
    expect(() => packedReadme('<img src="docs/results/curve.png">', pkg)).toThrow(UnpackableLinkError)
  })

  it("leaves code as written: code spans and fenced blocks", () => {
    const text = [
      "run `[x](docs/api.md)` and ``a `[y](docs/cli.md)` b``",
      "```md",
      "[z](docs/api.md)",
      "```",
      "~~~",
      "[w](docs/api.md)",
      "~~~",
      "[v](docs/api.md)"
    ].join("\n")
    expect(packedReadme(text, pkg).split("\n")).toEqual([...text.split("\n").slice(0, 7), `[v](${at("docs/api.md")})`])
  })
})
