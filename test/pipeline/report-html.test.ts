import { describe, expect, it } from "vitest"
import { accuracyBySeries, formatCell } from "../../src/pipeline/report/cells.js"
import { escapeHtml, htmlPage, htmlTable, svgFigures } from "../../src/pipeline/report/html.js"

// Two Vega plots define the same clip path id; inline in one page, each must keep its own.
const plotSvg = `<?xml version="1.0"?>\n<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/></g></svg>`

const ids = (html: string) => [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])

describe("the reports' HTML pieces", () => {
  it("give each inline SVG of a page its own ids, references rewritten alike", () => {
    const page = svgFigures()
    const first = page.figure(plotSvg)
    const second = page.figure(plotSvg, { captionHtml: "<figcaption>b</figcaption>", className: "plot" })
    expect(first).not.toContain("<?xml")
    expect(ids(first)).toHaveLength(1)
    expect(ids(second)).toHaveLength(1)
    expect(ids(first)[0]).not.toBe(ids(second)[0])
    for (const figure of [first, second]) {
      const id = ids(figure)[0]
      expect(figure).toContain(`url(#${id})`)
      expect(figure).toContain(`href="#${id}"`)
    }
    expect(second).toMatch(/^<figure class="plot">.*<figcaption>b<\/figcaption><\/figure>$/s)
  })

  it("count figures per page: a second page starts again, whatever the first one made", () => {
    const a = svgFigures()
    const firstOfA = a.figure(plotSvg)
    a.figure(plotSvg)
    expect(svgFigures().figure(plotSvg)).toBe(firstOfA)
  })

  it("escape text in cells, captions and the title, and mark the rows asked for", () => {
    expect(escapeHtml(`<a href="x">&</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;")
    const table = htmlTable({
      header: ["", "a<b"],
      rows: [
        ["r1", "1"],
        ["r2", "<i>"]
      ],
      marked: new Set([1]),
      caption: "x & y"
    })
    expect(table).toContain("<caption>x &amp; y</caption>")
    expect(table).toContain("<th>a&lt;b</th>")
    expect(table).toContain('<tr><th scope="row">r1</th><td>1</td></tr>')
    expect(table).toContain('<tr class="differs"><th scope="row">r2</th><td>&lt;i&gt;</td></tr>')
    const page = htmlPage({ title: "a <b>", style: ".x { color: red; }", body: "<p>body</p>" })
    expect(page).toMatch(/^<!DOCTYPE html>/)
    expect(page).toContain("<title>a &lt;b&gt;</title>")
    expect(page).toContain(".x { color: red; }</style>")
    expect(page).toContain("<body>\n<p>body</p>\n</body>")
  })

  it("write cells the same in every report", () => {
    expect([
      formatCell(null),
      formatCell(3),
      formatCell(0.123456),
      formatCell(Number.NaN),
      formatCell(true),
      formatCell([]),
      formatCell(["a", "b"])
    ]).toEqual(["–", "3", "0.1235", "NaN", "yes", "none", "a, b"])
    const { perClass, lines } = accuracyBySeries([
      { series: "vdl", perClass: 10, accuracyMean: 0.5, accuracyStd: 0.01 },
      { series: "vdl", perClass: 1, accuracyMean: 0.25, accuracyStd: 0.02 },
      { series: "pixels", perClass: 10, accuracyMean: 0.4, accuracyStd: 0 }
    ])
    expect(perClass).toEqual([1, 10])
    expect(lines).toEqual([
      ["vdl", "25.0 ± 2.0", "50.0 ± 1.0"],
      ["pixels", "–", "40.0 ± 0.0"]
    ])
  })
})
