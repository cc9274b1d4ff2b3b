import { Data, Effect } from "effect"
import type { Mark, Spec } from "vega"

/** A line plot could not be drawn; `problem` names the series and point at fault. */
export class PlotError extends Data.TaggedError("PlotError")<{
  readonly title: string
  readonly problem: string
}> {
  override get message(): string {
    return `Could not plot "${this.title}": ${this.problem}`
  }
}

export interface LineSeries {
  /** Shown in the legend, where Vega trims surrounding whitespace; must not be blank. */
  readonly name: string
  readonly x: readonly number[]
  readonly y: readonly number[]
  /** A spread around y drawn as a shaded band and an error bar at each point, from lower to upper (e.g. mean ± std over seeds); both or neither. */
  readonly lower?: readonly number[]
  readonly upper?: readonly number[]
}

export interface LinePlot {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly LineSeries[]
  readonly logX?: boolean
  /** Size of the plotting area in pixels (axes and legend come on top); default 640 × 400. */
  readonly width?: number
  readonly height?: number
}

/** Series this short also get a dot per point, so a one-point series still shows. */
const DOTTED_UP_TO = 40

/**
 * Refuses input that would otherwise come out as a silently wrong picture:
 * Vega drops non-finite points and draws a log axis from nonsense.
 */
const check = (plot: LinePlot): string | undefined => {
  // XML 1.0 cannot hold these at all, so the SVG would not open.
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/
  const texts = [
    ["title", plot.title],
    ["xLabel", plot.xLabel],
    ["yLabel", plot.yLabel],
    ...plot.series.map((s) => ["series name", s.name] as const)
  ] as const
  for (const [what, text] of texts) {
    if (control.test(text))
      return `the ${what} ${JSON.stringify(text)} holds a control character, which SVG cannot contain`
  }
  if (plot.series.length === 0) return "there are no series"
  const names = new Set<string>()
  for (const { name, x, y } of plot.series) {
    const label = JSON.stringify(name)
    if (name.trim() === "") return "a series has a blank name, which the legend would show as nothing"
    if (names.has(name)) return `two series are named ${label}; the legend could not tell them apart`
    names.add(name)
    if (x.length !== y.length) return `series ${label} has ${x.length} x values but ${y.length} y values`
    if (x.length === 0) return `series ${label} has no points`
    const band = plot.series.find((s) => s.name === name)
    if ((band?.lower === undefined) !== (band?.upper === undefined))
      return `series ${label} has only one side of its band; give lower and upper together`
    if (band?.lower !== undefined && band.upper !== undefined) {
      if (band.lower.length !== x.length || band.upper.length !== x.length)
        return `series ${label} has ${x.length} points but a band of ${band.lower.length} / ${band.upper.length}`
      for (let i = 0; i < x.length; i++)
        if (!Number.isFinite(band.lower[i]) || !Number.isFinite(band.upper[i]) || band.lower[i] > band.upper[i])
          return `series ${label} has a band [${band.lower[i]}, ${band.upper[i]}] at x[${i}]; give finite lower ≤ upper`
    }
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) return `series ${label} has x[${i}] = ${x[i]}; remove non-finite points first`
      if (!Number.isFinite(y[i])) {
        return `series ${label} has y[${i}] = ${y[i]} (did the run diverge?); remove non-finite points first`
      }
      if (plot.logX && x[i] <= 0) return `series ${label} has x[${i}] = ${x[i]}, which a log x axis cannot show`
    }
  }
  for (const [key, value] of [
    ["width", plot.width],
    ["height", plot.height]
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0))
      return `${key} must be a positive integer, got ${value}`
  }
  return undefined
}

const specOf = (plot: LinePlot): Spec => {
  const points = plot.series.flatMap(({ name, x, y }) => x.map((xi, i) => ({ series: name, i, x: xi, y: y[i] })))
  const bands = plot.series.flatMap(({ name, x, lower, upper }) =>
    lower === undefined || upper === undefined
      ? []
      : x.map((xi, i) => ({ series: name, i, x: xi, lo: lower[i], hi: upper[i] }))
  )
  const short = new Set(plot.series.filter((s) => s.x.length <= DOTTED_UP_TO).map((s) => s.name))
  const dots = points.filter((p) => short.has(p.series))
  const encodeXY = {
    x: { scale: "x", field: "x" },
    y: { scale: "y", field: "y" },
    stroke: { scale: "color", field: "series" }
  }
  return {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    width: plot.width ?? 640,
    height: plot.height ?? 400,
    padding: 8,
    background: "white",
    title: { text: plot.title, fontSize: 15 },
    data: [
      { name: "points", values: points },
      { name: "dots", values: dots },
      { name: "bands", values: bands }
    ],
    scales: [
      // A nice log domain rounds out to whole decades, which can waste most of the width.
      {
        name: "x",
        type: plot.logX ? "log" : "linear",
        domain: { data: "points", field: "x" },
        range: "width",
        nice: !plot.logX,
        zero: false
      },
      {
        name: "y",
        type: "linear",
        // The bands widen the domain, so that a spread is never cut at the frame.
        domain: {
          fields: [
            { data: "points", field: "y" },
            ...(bands.length > 0
              ? [
                  { data: "bands", field: "lo" },
                  { data: "bands", field: "hi" }
                ]
              : [])
          ]
        },
        range: "height",
        nice: true,
        zero: false
      },
      // Given explicitly so the legend keeps the caller's order.
      { name: "color", type: "ordinal", domain: plot.series.map((s) => s.name), range: "category" }
    ],
    axes: [
      { orient: "bottom", scale: "x", title: plot.xLabel, grid: true, gridOpacity: 0.3 },
      { orient: "left", scale: "y", title: plot.yLabel, grid: true, gridOpacity: 0.3 }
    ],
    // labelLimit 0: a legend name is never cut short.
    legends: [{ stroke: "color", orient: "right", symbolType: "stroke", labelLimit: 0 }],
    marks: [
      ...(bands.length === 0
        ? []
        : ([
            {
              type: "group",
              from: { facet: { name: "band", data: "bands", groupby: "series" } },
              marks: [
                {
                  type: "area",
                  from: { data: "band" },
                  sort: { field: "datum.i" },
                  encode: {
                    enter: {
                      x: { scale: "x", field: "x" },
                      y: { scale: "y", field: "hi" },
                      y2: { scale: "y", field: "lo" },
                      fill: { scale: "color", field: "series" },
                      fillOpacity: { value: 0.18 }
                    }
                  }
                }
              ]
            },
            // An error bar at each point as well: a series of one point has no band to shade.
            {
              type: "rule",
              from: { data: "bands" },
              encode: {
                enter: {
                  x: { scale: "x", field: "x" },
                  y: { scale: "y", field: "hi" },
                  y2: { scale: "y", field: "lo" },
                  stroke: { scale: "color", field: "series" },
                  strokeWidth: { value: 1.5 }
                }
              }
            }
          ] satisfies Mark[])),
      {
        type: "group",
        from: { facet: { name: "one", data: "points", groupby: "series" } },
        marks: [
          {
            type: "line",
            from: { data: "one" },
            // Points are joined in the order given, not sorted by x.
            sort: { field: "datum.i" },
            encode: { enter: { ...encodeXY, strokeWidth: { value: 2 } } }
          }
        ]
      },
      {
        type: "symbol",
        from: { data: "dots" },
        encode: { enter: { ...encodeXY, fill: { value: "white" }, size: { value: 20 }, strokeWidth: { value: 1.5 } } }
      }
    ]
  }
}

/**
 * Training curves as a self-contained SVG document (rendered by Vega, headless:
 * no browser, no canvas). Non-finite points, empty series and non-positive x
 * on a log axis fail with a PlotError rather than drawing a misleading plot.
 */
export const linePlotSvg = (plot: LinePlot): Effect.Effect<string, PlotError> =>
  Effect.gen(function* () {
    const problem = check(plot)
    if (problem !== undefined) return yield* new PlotError({ title: plot.title, problem })
    // Vega is loaded on first use: it is large, and a program that draws no plot need not load it.
    const { View, parse } = yield* Effect.tryPromise({
      try: () => import("vega"),
      catch: (cause) =>
        new PlotError({
          title: plot.title,
          problem: `the package vega cannot be loaded (${String(cause)}); reinstall the dependencies (npm ci)`
        })
    })
    return yield* Effect.acquireUseRelease(
      Effect.try({
        try: () => new View(parse(specOf(plot)), { renderer: "none" }),
        catch: (cause) => new PlotError({ title: plot.title, problem: `Vega rejected the plot: ${String(cause)}` })
      }),
      (view) =>
        Effect.tryPromise({
          try: () => view.toSVG(),
          catch: (cause) =>
            new PlotError({ title: plot.title, problem: `Vega could not render the plot: ${String(cause)}` })
        }),
      (view) => Effect.sync(() => view.finalize())
    )
  })
