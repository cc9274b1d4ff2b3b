import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { settingDocs, settingNames } from "../../models/settings.js"
import { linePlotSvg, type LineSeries } from "../../data/plot.js"
import type { Row } from "../../data/table.js"
import { codeKindLabel, type CodeKind } from "./codes.js"
import { readTableIfPresent } from "./outputs.js"
import { accuracyBySeries, asNumber, formatCell, percent } from "../report/cells.js"
import {
  escapeHtml,
  htmlPage,
  htmlTable,
  imageFigure,
  figcaption,
  pngDataUri,
  type SvgFigures,
  svgFigures
} from "../report/html.js"
import type { RunFolder } from "./run-folder.js"

/**
 * One self-contained HTML page comparing runs (settings, metrics, training curves, pictures) with
 * the denoising and classification results found for them. Pictures are embedded as data: URIs
 * and plots as inline SVG, so the page can be mailed or archived as one file.
 */

const readBytes = (path: string) =>
  Effect.promise(async () => {
    try {
      return new Uint8Array(await readFile(path))
    } catch {
      return null
    }
  })

const readJsonIfPresent = (path: string) =>
  Effect.promise(async () => {
    try {
      return JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>
    } catch {
      return null
    }
  })

/** A plot, or a short note saying why it is missing: a report should not fail for one bad curve. */
const plot = (figures: SvgFigures, spec: Parameters<typeof linePlotSvg>[0]) =>
  linePlotSvg(spec).pipe(
    Effect.map((svg) => figures.figure(svg, { className: "plot" })),
    Effect.catchAll((e) => Effect.succeed(`<p class="note">${escapeHtml(e.message)}</p>`))
  )

// ---------------------------------------------------------------------------------------------
// What is read from the run folders

interface RunAssets {
  readonly run: RunFolder
  readonly curves: ReadonlyArray<Row>
  readonly pictures: ReadonlyArray<{ readonly title: string; readonly uri: string }>
}

const pictureFiles = [
  ["decoder-columns.png", "decoder columns (each scaled to its own max |value|, 0 is mid-grey)"],
  ["decoder-atoms.png", "decoder atoms D(cⱼeⱼ) − D(0)"],
  ["reconstructions.png", "validation inputs | reconstructions from the encoder's codes"]
] as const

const runAssets = (run: RunFolder) =>
  Effect.gen(function* () {
    const metrics = yield* readTableIfPresent(join(run.dir, "metrics.arrow"))
    const pictures: Array<{ title: string; uri: string }> = []
    for (const [file, title] of pictureFiles) {
      const bytes = yield* readBytes(join(run.dir, file))
      if (bytes !== null) pictures.push({ title, uri: pngDataUri(bytes) })
    }
    return { run, curves: metrics?.rows ?? [], pictures } satisfies RunAssets
  })

/** Denoising and classification outputs found for the runs, merged from every folder searched. */
export interface Results {
  readonly denoise: ReadonlyArray<Row>
  readonly denoiseExamples: ReadonlyArray<{
    readonly run: string
    readonly uri: string
    readonly columns: ReadonlyArray<string>
  }>
  readonly classify: ReadonlyArray<Row>
  readonly classifySettings: Record<string, unknown> | null
  readonly sources: ReadonlyArray<string>
}

/**
 * Looks for denoise/ and classify/ outputs in each run folder and in the extra folders given
 * (each may hold the files itself or in denoise/ and classify/ below it). Rows are matched to
 * runs by the run folder they record; a result found twice is taken from the first place.
 */
export const findResults = (runs: ReadonlyArray<RunFolder>, extraDirs: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const byDir = new Map(runs.map((r) => [r.dir, r]))
    const candidates: string[] = []
    for (const d of extraDirs) candidates.push(resolve(d), resolve(d, "denoise"), resolve(d, "classify"))
    for (const r of runs) candidates.push(join(r.dir, "denoise"), join(r.dir, "classify"))
    const denoise: Row[] = []
    const denoiseSeen = new Set<string>()
    const examples: Array<{ run: string; uri: string; columns: ReadonlyArray<string> }> = []
    const exampleSeen = new Set<string>()
    const classify: Row[] = []
    const classifySeen = new Set<string>()
    let classifySettings: Record<string, unknown> | null = null
    const sources: string[] = []
    for (const dir of [...new Set(candidates)]) {
      const dn = yield* readTableIfPresent(join(dir, "denoise.arrow"))
      if (dn !== null) {
        let used = false
        for (const row of dn.rows) {
          const run = byDir.get(String(row.runDir))
          const key = `${row.runDir}|${row.codes}|${row.sigma}`
          if (run === undefined || denoiseSeen.has(key)) continue
          denoiseSeen.add(key)
          denoise.push({ ...row, run: run.name })
          used = true
        }
        const manifest = yield* readJsonIfPresent(join(dir, "denoise.json"))
        const manifestRuns = (manifest?.runs ?? []) as Array<{ dir: string; examples: string }>
        for (const m of manifestRuns) {
          const run = byDir.get(m.dir)
          if (run === undefined || exampleSeen.has(m.dir)) continue
          const bytes = yield* readBytes(join(dir, m.examples))
          if (bytes === null) continue
          exampleSeen.add(m.dir)
          examples.push({
            run: run.name,
            uri: pngDataUri(bytes),
            columns: (manifest?.exampleColumns ?? []) as string[]
          })
          used = true
        }
        if (used) sources.push(join(dir, "denoise.arrow"))
      }
      const cl = yield* readTableIfPresent(join(dir, "classify.arrow"))
      if (cl !== null) {
        const manifest = yield* readJsonIfPresent(join(dir, "classify.json"))
        const manifestDirs = new Set(((manifest?.runs ?? []) as Array<{ dir: string }>).map((r) => r.dir))
        // Baselines belong to no run; they are shown when computed beside one of these runs.
        const beside = [...manifestDirs].some((d) => byDir.has(d))
        let used = false
        for (const row of cl.rows) {
          const run = row.runDir === null ? undefined : byDir.get(String(row.runDir))
          if (row.runDir !== null && run === undefined) continue
          if (row.runDir === null && !beside) continue
          const series =
            run === undefined
              ? String(row.series)
              : `${run.name} ${codeKindLabel[row.features as CodeKind] ?? row.features}`
          const key = `${series}|${row.perClass}`
          if (classifySeen.has(key)) continue
          classifySeen.add(key)
          classify.push({ ...row, series, run: run?.name ?? null })
          used = true
        }
        if (used) {
          sources.push(join(dir, "classify.arrow"))
          classifySettings ??= manifest
        }
      }
    }
    return { denoise, denoiseExamples: examples, classify, classifySettings, sources } satisfies Results
  })

// ---------------------------------------------------------------------------------------------
// Sections

const settingRows: ReadonlyArray<readonly [string, (r: RunFolder) => unknown]> = [
  ["model", (r) => r.model],
  ["epochs trained", (r) => r.summary.epochs],
  ["best epoch", (r) => r.summary.bestEpoch],
  ["seed", (r) => r.seed],
  ["data", (r) => (r.summary.data as Record<string, unknown> | undefined)?.source],
  [
    "train / val / test images",
    (r) => {
      const d = r.summary.data as Record<string, unknown> | undefined
      return d === undefined ? null : `${d.train} / ${d.val} / ${d.test}`
    }
  ],
  ...settingNames
    .filter((n) => n !== "epochs")
    .map((n) => [settingDocs[n].label, (r: RunFolder) => r.settings[n]] as const),
  ["backend", (r) => r.summary.backend],
  ["seconds per epoch", (r) => r.summary.secondsPerEpoch]
]

const settingsSection = (runs: ReadonlyArray<RunFolder>): string => {
  const rows = settingRows.map(([name, get]) => [name, ...runs.map((r) => formatCell(get(r)))])
  const marked = new Set(rows.flatMap((r, i) => (runs.length > 1 && new Set(r.slice(1)).size > 1 ? [i] : [])))
  return `<section id="settings"><h2>Settings</h2><p class="note">Rows where the runs differ are highlighted.</p>${htmlTable({ header: ["", ...runs.map((r) => r.name)], rows, marked })}</section>`
}

const metric = (r: RunFolder, split: "val" | "test", key: string) =>
  (r.summary[split] as Record<string, unknown> | undefined)?.[key]

const metricsSection = (runs: ReadonlyArray<RunFolder>): string => {
  const columns: ReadonlyArray<readonly [string, (r: RunFolder) => unknown]> = [
    ["val PSNR (dB)", (r) => metric(r, "val", "psnr")],
    ["test PSNR (dB)", (r) => metric(r, "test", "psnr")],
    ["val zero fraction", (r) => metric(r, "val", "zeroFraction")],
    ["test zero fraction", (r) => metric(r, "test", "zeroFraction")],
    ["val hidden zero fraction", (r) => metric(r, "val", "hiddenZeroFraction")],
    ["val energy", (r) => metric(r, "val", "energy")],
    ["test energy", (r) => metric(r, "test", "energy")],
    ["FISTA steps (last epoch)", (r) => r.summary.meanFistaSteps],
    ["unused code components", (r) => (r.summary.codeUsage as Record<string, unknown> | undefined)?.unusedComponents],
    ["edge-like atoms", (r) => (r.summary.atomShapes as Record<string, unknown> | null | undefined)?.edgeLikeFraction]
  ]
  return (
    `<section id="metrics"><h2>Metrics</h2><p class="note">Best epoch's model, encoder codes (amortised inference), as in training's model selection.</p>` +
    htmlTable({
      header: ["run", ...columns.map(([c]) => c)],
      rows: runs.map((r) => [r.name, ...columns.map(([, get]) => formatCell(get(r)))])
    }) +
    `</section>`
  )
}

const curvesSection = (assets: ReadonlyArray<RunAssets>, figures: SvgFigures) =>
  Effect.gen(function* () {
    const series = (key: string): LineSeries[] =>
      assets.flatMap(({ run, curves }) => {
        const points = curves.filter(
          (c) => typeof c.epoch === "number" && typeof c[key] === "number" && Number.isFinite(c[key] as number)
        )
        return points.length === 0
          ? []
          : [{ name: run.name, x: points.map((c) => c.epoch as number), y: points.map((c) => c[key] as number) }]
      })
    const panels: Array<readonly [string, string, string]> = [
      ["valPsnr", "Validation PSNR (encoder codes)", "PSNR (dB)"],
      ["trainPsnr", "Training PSNR (FISTA codes)", "PSNR (dB)"],
      ["valEnergy", "Validation energy (encoder codes)", "energy per image"],
      ["valZeroFraction", "Validation zero fraction of the codes", "fraction of zeros"],
      ["meanFistaSteps", "FISTA steps per image in training", "steps"],
      ["columnsEdgeLikeFraction", "Decoder columns that are localised oriented edges", "fraction of columns"]
    ]
    const parts: string[] = []
    for (const [key, title, yLabel] of panels) {
      const s = series(key)
      if (s.length > 0)
        parts.push(yield* plot(figures, { title, xLabel: "epoch", yLabel, series: s, width: 480, height: 260 }))
    }
    return `<section id="curves"><h2>Training curves</h2>${parts.length > 0 ? `<div class="plots">${parts.join("\n")}</div>` : `<p class="note">No metrics.arrow found in the run folders.</p>`}</section>`
  })

const picturesSection = (assets: ReadonlyArray<RunAssets>): string =>
  `<section id="pictures"><h2>Decoder and reconstructions</h2>` +
  assets
    .map(
      ({ run, pictures }) =>
        `<div class="run-pictures"><h3>${escapeHtml(run.name)}</h3><div class="figures">` +
        (pictures.length === 0
          ? `<p class="note">No pictures in ${escapeHtml(run.dir)}.</p>`
          : pictures.map((p) => imageFigure(p.uri, `${run.name}: ${p.title}`, figcaption(p.title))).join("")) +
        `</div></div>`
    )
    .join("\n") +
  `</section>`

const denoiseSection = (results: Results, runs: ReadonlyArray<RunFolder>, figures: SvgFigures) =>
  Effect.gen(function* () {
    if (results.denoise.length === 0) {
      return `<section id="denoising"><h2>Denoising</h2><p class="note">No denoising results were found for these runs. Run <code>npx tsx experiments/denoise.ts RUN...</code>, or pass <code>--results</code> the folder it wrote.</p></section>`
    }
    const rows = results.denoise
    const sigmas = [...new Set(rows.map((r) => asNumber(r.sigma)))].sort((a, b) => a - b)
    const lines: string[][] = []
    const series: LineSeries[] = []
    const first = rows.filter((r) => r.codes === "encoder" && r.run === rows[0].run)
    lines.push([
      "noisy input",
      "–",
      ...sigmas.map((s) => formatCell(asNumber(first.find((r) => asNumber(r.sigma) === s)?.noisyPsnr)))
    ])
    for (const run of runs) {
      for (const kind of ["encoder", "fista"] as const) {
        const mine = rows
          .filter((r) => r.run === run.name && r.codes === kind)
          .sort((a, b) => asNumber(a.sigma) - asNumber(b.sigma))
        if (mine.length === 0) continue
        const name = `${run.name} ${codeKindLabel[kind]}`
        lines.push([
          name,
          formatCell(asNumber(mine[0].cleanPsnr)),
          ...sigmas.map((s) => formatCell(asNumber(mine.find((r) => asNumber(r.sigma) === s)?.denoisedPsnr)))
        ])
        series.push({ name, x: mine.map((r) => asNumber(r.sigma)), y: mine.map((r) => asNumber(r.denoisedPsnr)) })
      }
    }
    if (first.length > 0)
      series.push({
        name: "noisy input",
        x: first.map((r) => asNumber(r.sigma)),
        y: first.map((r) => asNumber(r.noisyPsnr))
      })
    const detailHeader = [
      "run",
      "codes",
      "σ",
      "noisy PSNR",
      "denoised PSNR",
      "clean PSNR",
      "clean zero fraction",
      "noisy zero fraction",
      "FISTA steps",
      "images"
    ]
    const detail = rows.map((r) => [
      String(r.run),
      codeKindLabel[r.codes as CodeKind] ?? String(r.codes),
      formatCell(r.sigma),
      formatCell(r.noisyPsnr),
      formatCell(r.denoisedPsnr),
      formatCell(r.cleanPsnr),
      formatCell(r.cleanZeroFraction),
      formatCell(r.noisyZeroFraction),
      formatCell(r.meanFistaSteps),
      formatCell(r.images)
    ])
    const chart = yield* plot(figures, {
      title: "Denoising: PSNR against the clean image",
      xLabel: "noise σ (normalised input space)",
      yLabel: "PSNR (dB)",
      series
    })
    const pictures = results.denoiseExamples
      .map((e) =>
        imageFigure(
          e.uri,
          `${e.run}: clean, noisy and denoised test images`,
          figcaption(`${e.run}: one test image per row; tiles left to right: ${e.columns.join(" | ")}`)
        )
      )
      .join("\n")
    return (
      `<section id="denoising"><h2>Denoising</h2><p class="note">PSNR (dB) against the clean test image of the reconstruction from the codes of the noisy input; the first row is the noisy input itself; “clean input” is the reconstruction of the clean image, the ceiling.</p>` +
      htmlTable({ header: ["", "clean input", ...sigmas.map((s) => `σ = ${s}`)], rows: lines }) +
      chart +
      `<details><summary>All figures, with the sparsity of clean and noisy codes</summary>${htmlTable({ header: detailHeader, rows: detail })}</details>` +
      `<div class="figures">${pictures}</div></section>`
    )
  })

const classifySection = (results: Results, figures: SvgFigures) =>
  Effect.gen(function* () {
    if (results.classify.length === 0) {
      return `<section id="classification"><h2>Low-data classification</h2><p class="note">No classification results were found for these runs. Run <code>npx tsx experiments/classify.ts RUN...</code>, or pass <code>--results</code> the folder it wrote.</p></section>`
    }
    const rows = results.classify
    const { perClass: ks, lines } = accuracyBySeries(rows)
    const series: LineSeries[] = lines.map(([name]) => {
      const mine = rows.filter((x) => x.series === name).sort((a, b) => asNumber(a.perClass) - asNumber(b.perClass))
      return { name, x: mine.map((x) => asNumber(x.perClass)), y: mine.map((x) => 100 * asNumber(x.accuracyMean)) }
    })
    const chart = yield* plot(figures, {
      title: "Low-data classification: test accuracy",
      xLabel: "labelled examples per class",
      yLabel: "test top-1 accuracy (%)",
      logX: true,
      series
    })
    const s = results.classifySettings
    const how =
      s === null
        ? ""
        : ` A linear classifier (cross-entropy, Adam lr ${formatCell(s.learningRate)}, ${formatCell(s.epochs)} epochs, batches of ${formatCell(s.batchSize)}), the epoch of lowest validation loss kept; mean ± standard deviation over ${formatCell(s.repeats)} repeats.`
    const epochs = s === null ? null : asNumber(s.epochs)
    const atLast = epochs === null ? 0 : rows.filter((r) => asNumber(r.bestEpochMean) === epochs).length
    const budget =
      atLast === 0
        ? ""
        : `<p class="note">In ${atLast} of ${rows.length} settings every repeat had its lowest validation loss at the last epoch: those classifiers were still improving when the epoch budget ran out.</p>`
    const detail = rows.map((r) => [
      String(r.series),
      formatCell(r.perClass),
      formatCell(r.repeats),
      percent(r.accuracyMean),
      percent(r.accuracyStd),
      percent(r.accuracyMin),
      percent(r.accuracyMax),
      formatCell(r.bestEpochMean, 3)
    ])
    return (
      `<section id="classification"><h2>Low-data classification</h2><p class="note">Test top-1 accuracy (%) by labelled examples per class.${escapeHtml(how)}</p>` +
      htmlTable({ header: ["", ...ks.map((k) => `K = ${k}`)], rows: lines }) +
      chart +
      budget +
      `<details><summary>Spread and selected epochs</summary>${htmlTable({ header: ["series", "K", "repeats", "mean %", "std %", "min %", "max %", "mean best epoch"], rows: detail })}</details>` +
      `</section>`
    )
  })

// What this page adds to the shared style: plots side by side, pictures scaled to the page.
const style = `
h1 { font-size: 1.6em; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure img { max-width: 100%; }
figcaption { max-width: 760px; }
.figures { display: flex; flex-wrap: wrap; align-items: flex-start; }
`

export interface ReportInput {
  readonly runs: ReadonlyArray<RunFolder>
  readonly results: Results
  readonly title?: string
}

export const renderReport = (input: ReportInput) =>
  Effect.gen(function* () {
    const assets = yield* Effect.forEach(input.runs, runAssets)
    const figures = svgFigures("p")
    const title = input.title ?? `Sparse coding runs: ${input.runs.map((r) => r.name).join(", ")}`
    const runList = input.runs
      .map((r) => `<li><b>${escapeHtml(r.name)}</b> (${escapeHtml(r.model)}): <code>${escapeHtml(r.dir)}</code></li>`)
      .join("")
    const sources =
      input.results.sources.length === 0
        ? ""
        : `<p class="note">Evaluation results read from: ${input.results.sources.map((s) => `<code>${escapeHtml(s)}</code>`).join(", ")}</p>`
    const sections = [
      settingsSection(input.runs),
      metricsSection(input.runs),
      yield* curvesSection(assets, figures),
      picturesSection(assets),
      yield* denoiseSection(input.results, input.runs, figures),
      yield* classifySection(input.results, figures)
    ]
    return htmlPage({
      title,
      style,
      body: `<h1>${escapeHtml(title)}</h1>
<p class="note">Generated ${escapeHtml(new Date().toISOString())}.</p>
<ul>${runList}</ul>
${sources}
<nav><a href="#settings">settings</a> · <a href="#metrics">metrics</a> · <a href="#curves">training curves</a> · <a href="#pictures">pictures</a> · <a href="#denoising">denoising</a> · <a href="#classification">classification</a></nav>
${sections.join("\n")}`
    })
  })
