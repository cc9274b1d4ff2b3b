import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { PlotError, linePlotSvg, type LinePlot } from "../../src/data/plot.js"

/**
 * Enough XML checking to catch broken output: one root <svg>, every tag
 * closed in order, attribute values quoted, no bare & or < in text.
 */
const checkXml = (text: string): void => {
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, "")
  expect(body.startsWith("<svg")).toBe(true)
  expect(body).toMatch(/^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  const stack: string[] = []
  let roots = 0
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g
  let last = 0
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const between = body.slice(last, m.index)
    expect(between).not.toMatch(/[<>]/)
    expect(between).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);)/)
    last = tag.lastIndex
    const [, closing, name, , selfClosing] = m
    if (closing) expect(stack.pop()).toBe(name)
    else if (!selfClosing) {
      if (stack.length === 0) roots++
      stack.push(name)
    } else if (stack.length === 0) roots++
  }
  expect(body.slice(last).trim()).toBe("")
  expect(stack).toEqual([])
  expect(roots).toBe(1)
}

const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])

const steps = Array.from({ length: 100 }, (_, i) => (i + 1) * 100)
const curves: LinePlot = {
  title: "Reconstruction loss",
  xLabel: "step",
  yLabel: "MSE",
  series: [
    { name: "SC", x: steps, y: steps.map((s) => 1 / Math.sqrt(s)) },
    { name: "VDL & <friends>", x: steps, y: steps.map((s) => 0.5 / Math.sqrt(s)) },
    { name: "one point", x: [500], y: [0.04] }
  ]
}

describe("linePlotSvg", () => {
  it.effect("draws a well-formed SVG with title, labels and every series in the legend", () =>
    Effect.gen(function* () {
      const svg = yield* linePlotSvg(curves)
      checkXml(svg)
      const shown = texts(svg)
      expect(shown).toEqual(
        expect.arrayContaining(["Reconstruction loss", "step", "MSE", "SC", "VDL &amp; &lt;friends&gt;", "one point"])
      )
      // One line per series; the short series also gets dots, so its single point shows.
      expect(svg.match(/aria-roledescription="line mark container"/g)).toHaveLength(3)
      expect(svg.match(/aria-roledescription="symbol mark container"/g)).toHaveLength(1)
    })
  )

  it.effect("a log x axis puts ticks on powers of ten", () =>
    Effect.gen(function* () {
      const data = { ...curves, series: [{ name: "loss", x: [1, 10, 100, 1000, 10000], y: [5, 4, 3, 2, 1] }] }
      const log = texts(yield* linePlotSvg({ ...data, logX: true }))
      const linear = texts(yield* linePlotSvg(data))
      expect(log).toEqual(expect.arrayContaining(["10", "100", "1,000"]))
      expect(linear).not.toContain("100")
      expect(linear).toEqual(expect.arrayContaining(["2,000", "4,000"]))
    })
  )

  it.effect("handles flat and single-x data without producing NaN coordinates", () =>
    Effect.gen(function* () {
      const svg = yield* linePlotSvg({ ...curves, series: [{ name: "flat", x: [3, 3], y: [1, 1] }] })
      checkXml(svg)
      expect(svg).not.toMatch(/NaN|Infinity/)
    })
  )

  const problemOf = (plot: LinePlot) => Effect.flip(linePlotSvg(plot)).pipe(Effect.map((e) => e))

  it.effect("refuses input that would draw garbage, with a PlotError that says why", () =>
    Effect.gen(function* () {
      const cases: Array<[Partial<LinePlot>, RegExp]> = [
        [{ series: [] }, /no series/],
        [{ series: [{ name: "a", x: [], y: [] }] }, /"a" has no points/],
        [{ series: [{ name: "a", x: [1, 2], y: [1] }] }, /2 x values but 1 y values/],
        [{ series: [{ name: "a", x: [1, 2], y: [1, NaN] }] }, /"a" has y\[1\] = NaN/],
        [{ series: [{ name: "a", x: [1, Infinity], y: [1, 2] }] }, /x\[1\] = Infinity/],
        [{ series: [{ name: "a", x: [0, 1], y: [1, 2] }], logX: true }, /x\[0\] = 0, which a log x axis cannot show/],
        [
          {
            series: [
              { name: "a", x: [1], y: [1] },
              { name: "a", x: [2], y: [2] }
            ]
          },
          /two series are named "a"/
        ],
        [{ series: [{ name: "  ", x: [1], y: [1] }] }, /blank name/],
        [{ width: 0 }, /width must be a positive integer/],
        [{ yLabel: "loss\u0007" }, /yLabel "loss\\u0007" holds a control character/]
      ]
      for (const [change, pattern] of cases) {
        const error = yield* problemOf({ ...curves, ...change })
        expect(error).toBeInstanceOf(PlotError)
        expect(error._tag).toBe("PlotError")
        expect(error.problem).toMatch(pattern)
        expect(error.message).toContain("Reconstruction loss")
      }
    })
  )

  it.effect(
    "draws a spread as a shaded band and error bars, keeps long legend names whole, refuses a one-sided band",
    () =>
      Effect.gen(function* () {
        const long = "VDL-NL λ 0.01, 200 ep, 3 seeds, encoder codes of the clean test images"
        const plain = yield* linePlotSvg({
          title: "t",
          xLabel: "x",
          yLabel: "y",
          series: [{ name: long, x: [1, 2, 3], y: [1, 2, 3] }]
        })
        expect(plain).not.toMatch(/fill-opacity="0\.18"/)
        const banded = yield* linePlotSvg({
          title: "t",
          xLabel: "x",
          yLabel: "y",
          series: [
            { name: long, x: [1, 2, 3], y: [1, 2, 3], lower: [0.5, 1.5, 2.5], upper: [1.5, 2.5, 3.5] },
            { name: "one point", x: [2], y: [2.2], lower: [2], upper: [2.4] }
          ]
        })
        checkXml(banded)
        expect(banded).toMatch(/fill-opacity="0\.18"/)
        // An error bar per banded point, four, in the group of rules that are marks (not the axes').
        const bars = /<g class="mark-rule role-mark"[^>]*>(.*?)<\/g>/s.exec(banded)?.[1] ?? ""
        expect((bars.match(/<line/g) ?? []).length).toBe(4)
        expect(texts(banded)).toContain(long)
        const oneSided = yield* Effect.flip(
          linePlotSvg({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "a", x: [1], y: [1], lower: [0] }] })
        )
        expect(oneSided.problem).toContain("only one side of its band")
        const inverted = yield* Effect.flip(
          linePlotSvg({
            title: "t",
            xLabel: "x",
            yLabel: "y",
            series: [{ name: "a", x: [1], y: [1], lower: [2], upper: [0] }]
          })
        )
        expect(inverted.problem).toContain("lower ≤ upper")
      })
  )

  it.effect("any finite curves give well-formed SVG naming every series (property)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== ""),
            { minLength: 1, maxLength: 4 }
          ),
          fc.boolean(),
          fc.array(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 }),
          async (names, logX, ys) => {
            const series = names.map((name, k) => ({
              name,
              x: ys.map((_, i) => i + 1 + k),
              y: ys.map((v) => v * (k + 1))
            }))
            const svg = await Effect.runPromise(linePlotSvg({ title: "t", xLabel: "x", yLabel: "y", series, logX }))
            checkXml(svg)
            expect(svg).not.toMatch(/NaN/)
            const escape = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
            // Vega trims legend labels and shortens them only past 160px, which these names are not.
            const labels = texts(svg)
            for (const name of names) expect(labels).toContain(escape(name.trim()))
          }
        ),
        { numRuns: 20 }
      )
    )
  )
})
