/**
 * What the plan's outputs say, gathered in the plan's folder: the tables (CSV, Arrow and
 * Markdown), the figures (SVG files, each with the command line and commit in a footer), one
 * self-contained HTML page and summary.md.
 */
import { Effect } from "effect"
import { existsSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { linePlotSvg, type LineSeries } from "../../data/plot.js"
import { readArrowIpcTable, type Row, tableToMarkdown } from "../../data/table.js"
import { writeTable } from "../evaluation/outputs.js"
import { accuracyBySeries, asNumber, formatCell } from "../report/cells.js"
import { escapeHtml, htmlPage, htmlTable, imageFigure, pngDataUri, svgFigures } from "../report/html.js"
import type { StepOutcome } from "./execute.js"
import { BASELINES, COLLAPSE, type Dataset, type PaperPlan, type ProcessStep, type TrainStep } from "./plan.js"
import { type Provenance, provenanceLines, svgWithFooter } from "./provenance.js"
import {
  aggregateClassify,
  aggregateDenoise,
  aggregateRuns,
  CLASSIFY_SETTING_COLUMNS,
  classifyFamilies,
  DENOISE_SETTING_COLUMNS,
  familyOf,
  SETTING_COLUMNS
} from "./aggregate.js"
import { mnistEpochsOf } from "./scale.js"

const readRows = (path: string): Row[] => {
  try {
    return readArrowIpcTable(new Uint8Array(readFileSync(path))).rows
  } catch {
    return []
  }
}

const readJson = (path: string): Record<string, unknown> | null => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
  } catch {
    return null
  }
}

const datasetTitle: Record<Dataset, string> = { mnist: "MNIST", patches: "natural-image patches" }

const RUN_COLUMNS = [
  "dataset",
  "group",
  "run",
  "model",
  "lambda",
  "seed",
  "role",
  "status",
  "epochs",
  "bestEpoch",
  "valPsnr",
  "valZeroFraction",
  "valHiddenZeroFraction",
  "testPsnr",
  "testZeroFraction",
  "meanFistaSteps",
  "secondsPerEpoch",
  "runDir"
] as const
const DENOISE_COLUMNS = [
  "dataset",
  "group",
  "run",
  "model",
  "lambda",
  "epochs",
  "seed",
  "codes",
  "sigma",
  "noisyPsnr",
  "denoisedPsnr",
  "cleanPsnr",
  "cleanZeroFraction",
  "noisyZeroFraction",
  "images"
] as const
const CLASSIFY_COLUMNS = [
  "series",
  "group",
  "run",
  "model",
  "lambda",
  "epochs",
  "seed",
  "features",
  "perClass",
  "repeats",
  "accuracyMean",
  "accuracyStd",
  "accuracyMin",
  "accuracyMax"
] as const

export interface Gathered {
  readonly runs: ReadonlyArray<Row>
  readonly denoise: ReadonlyArray<Row>
  readonly classify: ReadonlyArray<Row>
  readonly collapse: ReadonlyArray<Row>
  readonly pictures: ReadonlyArray<{
    readonly run: string
    readonly dataset: Dataset
    readonly file: string
    readonly title: string
  }>
}

/**
 * Everything the steps left in their folders, as rows. A run with no outcome (a plan restricted
 * to a sitting, or a report built from committed results) counts as finished when its folder
 * holds a summary, and is "not run yet" otherwise. Run folders are named relative to `from`.
 */
export const gatherResults = (
  plan: PaperPlan,
  outcomes: ReadonlyArray<StepOutcome>,
  from: string = plan.spec.out
): Gathered => {
  const status = new Map(outcomes.map((o) => [o.step.id, o.status]))
  const trains = plan.steps.filter((s): s is TrainStep => s.kind === "train")
  const runs: Row[] = []
  const denoise: Row[] = []
  const classify: Row[] = []
  const pictures: Array<Gathered["pictures"][number]> = []
  for (const t of trains) {
    const dir = t.request.out
    const s = readJson(join(dir, "summary.json")) as null | {
      bestEpoch?: number
      epochs?: number
      meanFistaSteps?: number
      secondsPerEpoch?: number
      val?: { psnr?: number; zeroFraction?: number; hiddenZeroFraction?: number | null }
      test?: { psnr?: number; zeroFraction?: number }
    }
    const head = {
      dataset: t.dataset,
      group: t.group,
      run: t.request.name,
      model: t.request.model,
      lambda: t.request.lambda,
      seed: t.seed,
      role: t.role,
      runDir: relative(from, dir)
    }
    const st = status.get(t.id)
    if (s === null || st === "failed" || st === "blocked") {
      const why = st === "blocked" ? "blocked" : st === undefined ? "not run yet" : "failed"
      runs.push({ ...head, status: why, epochs: t.request.expected.epochs })
      continue
    }
    const tag = {
      dataset: t.dataset,
      group: t.group,
      run: t.request.name,
      model: t.request.model,
      lambda: t.request.lambda,
      epochs: s.epochs ?? t.request.expected.epochs,
      seed: t.seed
    }
    runs.push({
      ...head,
      status: "finished",
      epochs: s.epochs ?? null,
      bestEpoch: s.bestEpoch ?? null,
      valPsnr: s.val?.psnr ?? null,
      valZeroFraction: s.val?.zeroFraction ?? null,
      valHiddenZeroFraction: s.val?.hiddenZeroFraction ?? null,
      testPsnr: s.test?.psnr ?? null,
      testZeroFraction: s.test?.zeroFraction ?? null,
      meanFistaSteps: s.meanFistaSteps ?? null,
      secondsPerEpoch: s.secondsPerEpoch ?? null
    })
    for (const r of readRows(join(dir, "denoise", "denoise.arrow"))) {
      denoise.push({
        ...tag,
        codes: r.codes,
        sigma: r.sigma,
        noisyPsnr: r.noisyPsnr,
        denoisedPsnr: r.denoisedPsnr,
        cleanPsnr: r.cleanPsnr,
        cleanZeroFraction: r.cleanZeroFraction,
        noisyZeroFraction: r.noisyZeroFraction,
        images: r.images
      })
    }
    for (const r of readRows(join(dir, "classify", "classify.arrow"))) {
      classify.push({
        ...tag,
        series: `${t.request.name} ${r.features === "fista" ? "FISTA" : "encoder"}`,
        features: r.features,
        perClass: r.perClass,
        repeats: r.repeats,
        accuracyMean: r.accuracyMean,
        accuracyStd: r.accuracyStd,
        accuracyMin: r.accuracyMin,
        accuracyMax: r.accuracyMax
      })
    }
    // A linear decoder's atoms are its columns; a multi-layer decoder's are D(cⱼeⱼ) − D(0), one per
    // code component (its output layer's columns, 1,024 or 2,048 of them, stay in the run folder).
    const atoms = join(dir, "decoder-atoms.png")
    const picture = existsSync(atoms)
      ? { file: atoms, title: "decoder atoms D(cⱼeⱼ) − D(0)" }
      : { file: join(dir, "decoder-columns.png"), title: "decoder columns" }
    if (existsSync(picture.file)) pictures.push({ run: t.request.name, dataset: t.dataset, ...picture })
  }
  const baselines = plan.steps.find((s): s is ProcessStep => s.id === BASELINES)
  if (baselines !== undefined) {
    for (const r of readRows(join(baselines.out, "classify.arrow"))) {
      classify.push({
        series: String(r.series),
        group: null,
        run: null,
        model: null,
        lambda: null,
        epochs: null,
        seed: null,
        features: r.features,
        perClass: r.perClass,
        repeats: r.repeats,
        accuracyMean: r.accuracyMean,
        accuracyStd: r.accuracyStd,
        accuracyMin: r.accuracyMin,
        accuracyMax: r.accuracyMax
      })
    }
  }
  const collapseStep = plan.steps.find((s): s is ProcessStep => s.id === COLLAPSE)
  const collapse = collapseStep === undefined ? [] : readRows(join(collapseStep.out, "collapse.arrow"))
  return { runs, denoise, classify, collapse, pictures }
}

interface Figure {
  readonly file: string
  readonly title: string
  readonly svg: string
}

/** The aggregated rows the figures and tables are drawn from: one per setting, mean ± std over training seeds. */
export interface Aggregated {
  readonly settings: ReadonlyArray<Row>
  readonly denoise: ReadonlyArray<Row>
  readonly classify: ReadonlyArray<Row>
}

export const aggregateGathered = (g: Gathered): Aggregated => ({
  settings: aggregateRuns(g.runs),
  denoise: aggregateDenoise(g.denoise),
  classify: aggregateClassify(g.classify)
})

/** A setting's series in a figure: the model, its length and, with several, its seeds ("VDL, 20 ep, 3 seeds"). */
const seriesName = (r: Row) =>
  `${String(r.model).toUpperCase()}, ${r.epochs} ep${asNumber(r.seeds) > 1 ? `, ${r.seeds} seeds` : ""}`
const seriesKey = (r: Row) => `${r.model}|${r.group}|${r.epochs}`

/** Points of one series each, sorted by x, with a band of ± std where the std is known. */
const bandSeries = (
  rows: ReadonlyArray<Row>,
  x: (r: Row) => number,
  y: (r: Row) => number,
  std: (r: Row) => number,
  name: (r: Row) => string = seriesName
): LineSeries[] =>
  [...new Set(rows.map(seriesKey))].flatMap((key) => {
    const pts = rows
      .filter((r) => seriesKey(r) === key)
      .map((r) => ({ x: x(r), y: y(r), s: std(r) }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .sort((a, b) => a.x - b.x)
    if (pts.length === 0) return []
    const first = rows.find((r) => seriesKey(r) === key) as Row
    const banded = pts.every((p) => Number.isFinite(p.s))
    return [
      {
        name: name(first),
        x: pts.map((p) => p.x),
        y: pts.map((p) => p.y),
        ...(banded ? { lower: pts.map((p) => p.y - p.s), upper: pts.map((p) => p.y + p.s) } : {})
      }
    ]
  })

/** The figures, each an SVG with the provenance footer; a figure with nothing to show is left out. */
const makeFigures = (g: Gathered, a: Aggregated, prov: Provenance, headlineSigma: number) =>
  Effect.gen(function* () {
    const figures: Figure[] = []
    const footer = provenanceLines(prov)
    const add = (file: string, title: string, spec: Parameters<typeof linePlotSvg>[0]) =>
      linePlotSvg(spec).pipe(
        Effect.map((svg) => {
          figures.push({ file, title, svg: svgWithFooter(svg, footer) })
        }),
        Effect.catchAll((e) => Effect.logWarning(`paper: no figure ${file}: ${e.message}`))
      )
    for (const dataset of ["mnist", "patches"] as const) {
      const settings = a.settings.filter((r) => r.dataset === dataset)
      const series = bandSeries(
        settings,
        (r) => asNumber(r.valZeroMean),
        (r) => asNumber(r.valPsnrMean),
        (r) => asNumber(r.valPsnrStd)
      )
      if (series.length > 0) {
        yield* add(
          `psnr-vs-sparsity-${dataset}.svg`,
          `${datasetTitle[dataset]}: validation PSNR against the fraction of zero code entries (bars: ± std over training seeds)`,
          {
            title: `${datasetTitle[dataset]}: PSNR against sparsity (validation, encoder codes; one point per λ)`,
            xLabel: "fraction of zero code entries",
            yLabel: "PSNR (dB)",
            series
          }
        )
      }
      const dn = a.denoise.filter((r) => r.dataset === dataset && r.codes === "encoder")
      // Claim (c) as the authors test it: denoising at one σ along the sparsity curve.
      const atHeadline = dn.filter((r) => asNumber(r.sigma) === headlineSigma)
      const headline = bandSeries(
        atHeadline,
        (r) => asNumber(r.cleanZeroMean),
        (r) => asNumber(r.denoisedMean),
        (r) => asNumber(r.denoisedStd)
      )
      if (headline.length > 0) {
        yield* add(
          `denoise-sigma${headlineSigma}-vs-sparsity-${dataset}.svg`,
          `${datasetTitle[dataset]}: denoising PSNR at σ = ${headlineSigma} against the fraction of zero code entries (bars: ± std over training seeds)`,
          {
            title: `${datasetTitle[dataset]}: denoising at σ = ${headlineSigma} against sparsity (test set, encoder codes)`,
            xLabel: "fraction of zero code entries (clean test images)",
            yLabel: "PSNR against the clean image (dB)",
            series: headline
          }
        )
      }
      if (dn.length > 0) {
        // One curve per setting and λ: several λ of one model are separate series.
        const perLambda = [...new Set(dn.map((r) => `${seriesKey(r)}|${r.lambda}`))].flatMap((key) =>
          bandSeries(
            dn.filter((r) => `${seriesKey(r)}|${r.lambda}` === key),
            (r) => asNumber(r.sigma),
            (r) => asNumber(r.denoisedMean),
            (r) => asNumber(r.denoisedStd),
            (r) => `${seriesName(r)}, λ ${r.lambda}`
          )
        )
        const noisy = [...dn].sort((x, y) => asNumber(x.sigma) - asNumber(y.sigma))
        const sigmas = [...new Set(noisy.map((r) => asNumber(r.sigma)))]
        yield* add(
          `denoise-psnr-${dataset}.svg`,
          `${datasetTitle[dataset]}: denoising PSNR against the noise level (bars: ± std over training seeds), an extra beyond the paper's σ = ${headlineSigma}`,
          {
            title: `${datasetTitle[dataset]}: denoising (test set, encoder codes of the noisy input)`,
            xLabel: "noise σ (normalised input space)",
            yLabel: "PSNR against the clean image (dB)",
            series: [
              ...perLambda,
              {
                name: "noisy input",
                x: sigmas,
                y: sigmas.map((sg) => asNumber(noisy.find((r) => asNumber(r.sigma) === sg)?.noisyPsnr))
              }
            ]
          }
        )
      }
    }
    const cl = a.classify.filter((r) => r.features !== "fista")
    for (const family of classifyFamilies) {
      const mine = cl.filter((r) => familyOf(r) === family.id)
      if (mine.length === 0) continue
      const series: LineSeries[] = [...new Set(mine.map((r) => String(r.series)))].map((name) => {
        const rows = mine.filter((r) => r.series === name).sort((x, y) => asNumber(x.perClass) - asNumber(y.perClass))
        const y = rows.map((r) => 100 * asNumber(r.accuracyMean))
        const sd = rows.map((r) => 100 * asNumber(r.accuracyStd))
        return {
          name: name.replace(/ encoder$/, ""),
          x: rows.map((r) => asNumber(r.perClass)),
          y,
          ...(sd.every(Number.isFinite) ? { lower: y.map((v, i) => v - sd[i]), upper: y.map((v, i) => v + sd[i]) } : {})
        }
      })
      yield* add(
        `classify-accuracy-${family.id}.svg`,
        `MNIST: low-data classification, ${family.title}: test accuracy against labelled examples per class (bands: ± std over training seeds, or over classifier seeds for a setting trained once)`,
        {
          title: `Low-data classification on MNIST: ${family.title}`,
          xLabel: "labelled examples per class",
          yLabel: "test top-1 accuracy (%)",
          logX: true,
          series
        }
      )
    }
    if (g.collapse.length > 0) {
      const models = [...new Set(g.collapse.map((r) => String(r.model)))]
      const series = (key: string, label: string) =>
        models
          .map((m) => {
            const mine = g.collapse.filter((r) => r.model === m && Number.isFinite(asNumber(r[key])))
            return {
              name: `${m} (${label})`,
              x: mine.map((r) => asNumber(r.epoch)),
              y: mine.map((r) => asNumber(r[key]))
            }
          })
          .filter((s) => s.x.length > 0)
      yield* add("collapse-code-l1.svg", "The collapse: mean code ℓ1 norm by epoch", {
        title: "Mean code ℓ1 norm (validation) by epoch",
        xLabel: "epoch (0: initialisation)",
        yLabel: "mean ‖z‖₁",
        series: [...series("valFistaCodeL1", "FISTA"), ...series("valEncoderCodeL1", "encoder")]
      })
      yield* add("collapse-atom-norm.svg", "The collapse: decoder column norms by epoch", {
        title: "Decoder column norms by epoch (in use: weighted by use)",
        xLabel: "epoch (0: initialisation)",
        yLabel: "‖A·ⱼ‖₂",
        series: [...series("usedAtomNorm", "in use"), ...series("meanAtomNorm", "all")]
      })
    }
    return figures
  })

/** "mean ± std" of a setting's value, the std left out where it is unknown. */
const pm = (mean: unknown, std: unknown, digits = 4) =>
  Number.isFinite(asNumber(std)) ? `${formatCell(mean, digits)} ± ${formatCell(std, 2)}` : formatCell(mean, digits)

/** Denoising as one line per setting and code kind, one column per σ: mean ± std over training seeds. */
const denoiseWide = (rows: ReadonlyArray<Row>): { header: string[]; lines: string[][] } => {
  const sigmas = [...new Set(rows.map((r) => asNumber(r.sigma)))].sort((a, b) => a - b)
  const header = ["data", "model", "λ", "epochs", "seeds", "codes", "zeros", "clean", ...sigmas.map((s) => `σ ${s}`)]
  const lines: string[][] = []
  for (const dataset of ["mnist", "patches"]) {
    const mine = rows.filter((r) => r.dataset === dataset)
    if (mine.length === 0) continue
    const noisy = mine.filter((r) => r.codes === "encoder")
    lines.push([
      dataset,
      "noisy input",
      "–",
      "–",
      "–",
      "–",
      "–",
      "–",
      ...sigmas.map((s) => formatCell(noisy.find((r) => asNumber(r.sigma) === s)?.noisyPsnr))
    ])
    for (const key of [...new Set(mine.map((r) => `${r.group}|${r.model}|${r.lambda}|${r.epochs}|${r.codes}`))]) {
      const setting = mine.filter((r) => `${r.group}|${r.model}|${r.lambda}|${r.epochs}|${r.codes}` === key)
      const first = setting[0]
      lines.push([
        dataset,
        String(first.model),
        formatCell(first.lambda),
        formatCell(first.epochs),
        formatCell(first.seeds),
        first.codes === "fista" ? "FISTA" : "encoder",
        pm(first.cleanZeroMean, first.cleanZeroStd, 3),
        formatCell(first.cleanPsnrMean),
        ...sigmas.map((sg) => {
          const r = setting.find((x) => asNumber(x.sigma) === sg)
          return r === undefined ? "–" : pm(r.denoisedMean, r.denoisedStd)
        })
      ])
    }
  }
  return { header, lines }
}

const mdTable = (header: ReadonlyArray<string>, lines: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...lines.map((l) => `| ${l.join(" | ")} |`)
  ].join("\n")

// What this page adds to the shared style: figures side by side, captions wide enough for a command line.
const style = `
table { font-size: 0.85em; }
figure { display: inline-block; vertical-align: top; }
figcaption { font-size: 0.8em; max-width: 860px; }
figcaption code { font-size: 0.95em; word-break: break-all; }
.failed { color: #b00; }
`

/** Pictures larger than this are linked from summary.md but not embedded in the page. */
const MAX_EMBEDDED_BYTES = 2 * 1024 * 1024

export interface ReportFiles {
  readonly html: string
  readonly markdown: string
  readonly files: ReadonlyArray<string>
}

/** Writes the tables, the figures, report.html and summary.md into the plan's folder. */
/**
 * Writes the tables, the figures, report.html and summary.md into `into` (default the plan's
 * folder): per run (runs, denoise-runs, classify-runs) and per setting, mean ± std over training
 * seeds (settings, denoise, classify). The plan's folder may be a results folder of committed
 * artefacts (export.ts), so that a report is built from earlier sittings plus new runs.
 */
export const writePaperReport = (
  plan: PaperPlan,
  outcomes: ReadonlyArray<StepOutcome>,
  prov: Provenance,
  options: { readonly into?: string } = {}
) =>
  Effect.gen(function* () {
    const root = options.into ?? plan.spec.out
    yield* ensureDir(root)
    const g = gatherResults(plan, outcomes, root)
    const a = aggregateGathered(g)
    const headlineSigma = plan.sizes.headlineSigma ?? 1
    yield* writeTable(root, "runs", g.runs, RUN_COLUMNS)
    yield* writeTable(root, "denoise-runs", g.denoise, DENOISE_COLUMNS)
    yield* writeTable(root, "classify-runs", g.classify, CLASSIFY_COLUMNS)
    yield* writeTable(root, "settings", a.settings, SETTING_COLUMNS)
    yield* writeTable(root, "denoise", a.denoise, DENOISE_SETTING_COLUMNS)
    yield* writeTable(root, "classify", a.classify, CLASSIFY_SETTING_COLUMNS)
    const figures = yield* makeFigures(g, a, prov, headlineSigma)
    for (const f of figures) yield* writeFileAtomic(join(root, f.file), f.svg)
    const caption = (title: string) =>
      `<figcaption>${escapeHtml(title)}<br>command: <code>${escapeHtml(prov.command)}</code><br>commit: <code>${escapeHtml(prov.commit)}</code></figcaption>`
    const mdCaption = `command \`${prov.command}\`, commit \`${prov.commit}\``
    const figure = (file: string) => figures.find((f) => f.file === file)
    const svgs = svgFigures()
    const figHtml = (file: string) => {
      const f = figure(file)
      return f === undefined ? "" : svgs.figure(f.svg, { captionHtml: caption(f.title) })
    }
    const figMd = (file: string) => {
      const f = figure(file)
      return f === undefined ? "" : `![${f.title}](${f.file})\n\n*${f.title}.* Made by ${mdCaption}.\n`
    }
    const failures = outcomes.filter((o) => o.status === "failed" || o.status === "blocked")
    const counts = (s: string) => outcomes.filter((o) => o.status === s).length
    const finished = g.runs.filter((r) => r.status === "finished").length
    // A report of a results folder runs nothing: it reads what earlier sittings left.
    const stepsText =
      outcomes.length === 0
        ? `Read from the folders of earlier sittings, nothing run: ${finished} of ${g.runs.length} training runs finished.`
        : `${counts("ran")} steps ran, ${counts("skipped")} were done already, ${failures.length} did not finish.`

    // The plan at a glance.
    const planLines: string[][] = []
    for (const dataset of ["mnist", "patches"] as const) {
      const table = plan.lambdas[dataset]
      const epochsOf = (model: string) =>
        String(dataset === "mnist" ? mnistEpochsOf(plan.sizes, model, plan.spec.epochs) : plan.epochs.patches)
      for (const [model, ls] of Object.entries(table))
        planLines.push([datasetTitle[dataset], model, ls.join(", "), epochsOf(model), "1"])
      if (dataset === "mnist") {
        for (const r of g.runs.filter((x) => x.dataset === "mnist" && x.role === "default" && x.group === "main"))
          planLines.push([datasetTitle.mnist, String(r.model), `${r.lambda} (preset)`, epochsOf(String(r.model)), "1"])
      }
    }
    const spread = plan.sizes.spread
    if (spread !== undefined)
      for (const model of spread.models) {
        const lambda = g.runs.find((r) => r.group === "spread" && r.model === model)?.lambda
        planLines.push([
          `${datasetTitle.mnist} (spread)`,
          model,
          `${formatCell(lambda)} (preset)`,
          String(plan.spec.epochs ?? spread.epochs),
          String(spread.seeds)
        ])
      }
    const planHeader = ["data", "model", "λ", "epochs", "training seeds"]
    const s = plan.sizes
    const protocol =
      s.classify.subset === "first"
        ? `the first K training images of each class (the authors' protocol), batches of ${s.classify.batchSize ?? 32}`
        : `a random K per class for each classifier seed, batches of ${s.classify.batchSize ?? 32}`
    const sizesText =
      `scale ${plan.spec.scale}; MNIST ${s.mnist.trainSize === null ? "all 55,000" : s.mnist.trainSize} training images; patches ${s.patches.train} / ${s.patches.val} / ${s.patches.test}; ` +
      `denoising σ ${s.denoise.sigmas.join(", ")} on ${s.denoise.limit === null ? "all" : `the first ${s.denoise.limit}`} test images (claim (c) at σ ${headlineSigma}); ` +
      `classification K ${s.classify.perClass.join(", ")}: ${protocol}, ${s.classify.seeds} classifier seeds, ${s.classify.epochs} epochs; collapse ${s.collapse.models.join(" vs ")}, ${plan.epochs.collapse} epochs`
    const settingLines = a.settings.map((r) => [
      String(r.dataset),
      String(r.model),
      formatCell(r.lambda),
      formatCell(r.epochs),
      formatCell(r.seeds),
      pm(r.valZeroMean, r.valZeroStd, 3),
      formatCell(r.valHiddenZeroMean, 3),
      pm(r.valPsnrMean, r.valPsnrStd),
      pm(r.testPsnrMean, r.testPsnrStd),
      `${r.stillImproving} of ${r.seeds}`
    ])
    const settingHeader = [
      "data",
      "model",
      "λ",
      "epochs",
      "seeds",
      "val zeros",
      "val hidden zeros",
      "val PSNR",
      "test PSNR",
      "best epoch = last"
    ]
    const runLines = g.runs.map((r) => [
      String(r.run),
      String(r.dataset),
      String(r.group),
      String(r.model),
      formatCell(r.lambda),
      formatCell(r.seed),
      String(r.status),
      formatCell(r.epochs),
      formatCell(r.bestEpoch),
      formatCell(r.valPsnr),
      formatCell(r.valZeroFraction),
      formatCell(r.valHiddenZeroFraction),
      formatCell(r.testPsnr),
      formatCell(r.testZeroFraction)
    ])
    const runHeader = [
      "run",
      "data",
      "group",
      "model",
      "λ",
      "seed",
      "status",
      "epochs",
      "best epoch",
      "val PSNR",
      "val zeros",
      "val hidden zeros",
      "test PSNR",
      "test zeros"
    ]
    const dw = denoiseWide(a.denoise)
    const accuracy = accuracyBySeries(a.classify)
    const spreadOf = new Map(a.classify.map((r) => [String(r.series), String(r.spreadOver)]))
    const cw = {
      header: ["series", ...accuracy.perClass.map((k) => `K = ${k}`), "± over"],
      lines: accuracy.lines.map((l) => [...l, spreadOf.get(l[0]) ?? "–"])
    }
    const familyFigures = classifyFamilies.map((f) => `classify-accuracy-${f.id}.svg`)
    const collapseMd =
      g.collapse.length === 0
        ? ""
        : tableToMarkdown(
            g.collapse,
            [
              "model",
              "epoch",
              "valFistaCodeL1",
              "valEncoderCodeL1",
              "meanAtomNorm",
              "usedAtomNorm",
              "valPsnr",
              "valZeroFraction"
            ],
            { digits: 4 }
          )

    const pictureHtml = g.pictures
      .map((p) => {
        const title = `${datasetTitle[p.dataset]}, ${p.run}: ${p.title} (each scaled to its own max |value|, 0 is mid-grey)`
        // The page stays mailable: a picture too large to embed is named instead.
        if (statSync(p.file).size > MAX_EMBEDDED_BYTES)
          return `<figure><p class="note">${escapeHtml(relative(root, p.file))} (too large to embed)</p>${caption(title)}</figure>`
        return imageFigure(pngDataUri(readFileSync(p.file)), `${p.run}: ${p.title}`, caption(title))
      })
      .join("\n")
    const failureHtml =
      failures.length === 0
        ? ""
        : `<section id="failures"><h2 class="failed">Steps that did not finish</h2><ul>${failures.map((f) => `<li><b>${escapeHtml(f.step.id)}</b>: ${escapeHtml(f.problem ?? f.status)}</li>`).join("")}</ul></section>`

    const html = htmlPage({
      title: `Sparse coding with variance regularisation: the paper's experiments (${plan.spec.scale})`,
      style,
      body: `<h1>Sparse coding with variance regularisation: the paper's experiments</h1>
<p class="note">Generated ${escapeHtml(prov.generated)} by <code>${escapeHtml(prov.command)}</code> at commit <code>${escapeHtml(prov.commit)}</code>.
${escapeHtml(stepsText)}</p>
<nav><a href="#plan">plan</a> · <a href="#sparsity">PSNR against sparsity</a> · <a href="#runs">runs</a> · <a href="#denoising">denoising</a> · <a href="#classification">classification</a> · <a href="#collapse">collapse</a> · <a href="#atoms">atoms</a></nav>
${failureHtml}
<section id="plan"><h2>The plan</h2><p class="note">${escapeHtml(sizesText)}</p>${htmlTable({ header: planHeader, rows: planLines })}</section>
<section id="sparsity"><h2>PSNR against sparsity</h2><p class="note">The paper compares the variants at matched sparsity: each point is one setting, its validation PSNR (encoder codes) against its fraction of zero code entries, mean ± std over training seeds. "Best epoch = last": how many seeds were still improving when training stopped.</p>
${htmlTable({ header: settingHeader, rows: settingLines })}
${figHtml("psnr-vs-sparsity-mnist.svg")}${figHtml("psnr-vs-sparsity-patches.svg")}</section>
<section id="runs"><h2>Runs</h2>${htmlTable({ header: runHeader, rows: runLines })}</section>
<section id="denoising"><h2>Denoising</h2><p class="note">PSNR (dB) against the clean test image of the reconstruction from the codes of the noisy input (Gaussian noise of std σ in normalised input space), mean ± std over training seeds; "clean" is the reconstruction of the clean input, "zeros" its codes' zero fraction. The paper judges denoising at σ = ${headlineSigma} along the sparsity curve; the other σ are an extra.</p>
${htmlTable({ header: dw.header, rows: dw.lines })}${figHtml(`denoise-sigma${headlineSigma}-vs-sparsity-mnist.svg`)}${figHtml(`denoise-sigma${headlineSigma}-vs-sparsity-patches.svg`)}${figHtml("denoise-psnr-mnist.svg")}${figHtml("denoise-psnr-patches.svg")}</section>
<section id="classification"><h2>Low-data classification (MNIST)</h2><p class="note">Test top-1 accuracy (%) of a linear classifier on K labelled training images per class (${escapeHtml(protocol)}), selected by validation loss: mean ± std over training seeds, or over the ${s.classify.seeds} classifier seeds for a setting trained once (last column).</p>
${htmlTable({ header: cw.header, rows: cw.lines })}${familyFigures.map(figHtml).join("")}</section>
<section id="collapse"><h2>The collapse without a regulariser</h2>${figHtml("collapse-code-l1.svg")}${figHtml("collapse-atom-norm.svg")}</section>
<section id="atoms"><h2>Atoms</h2>${pictureHtml || `<p class="note">No run has finished yet.</p>`}</section>`
    })
    const md = [
      `# Sparse coding with variance regularisation: the paper's experiments (${plan.spec.scale})`,
      "",
      `Generated ${prov.generated} by \`${prov.command}\` at commit \`${prov.commit}\`. ${stepsText} The same in one page: [report.html](report.html).`,
      "",
      ...(failures.length === 0
        ? []
        : [
            "## Steps that did not finish",
            "",
            ...failures.map((f) => `- **${f.step.id}**: ${(f.problem ?? f.status).split("\n")[0]}`),
            ""
          ]),
      "## The plan",
      "",
      `${sizesText}.`,
      "",
      mdTable(planHeader, planLines),
      "",
      "## PSNR against sparsity",
      "",
      'Each setting\'s validation PSNR and zero fraction, mean ± std over training seeds; "best epoch = last" counts the seeds still improving when training stopped. Also in settings.csv / settings.arrow.',
      "",
      a.settings.length === 0 ? "No finished runs yet." : mdTable(settingHeader, settingLines),
      "",
      figMd("psnr-vs-sparsity-mnist.svg"),
      figMd("psnr-vs-sparsity-patches.svg"),
      "## Runs",
      "",
      mdTable(runHeader, runLines),
      "",
      "Also in runs.csv / runs.arrow; run folders are relative to this one.",
      "",
      "## Denoising (PSNR in dB, mean ± std over training seeds)",
      "",
      `The paper judges denoising at σ = ${headlineSigma} along the sparsity curve; the other σ are an extra. Per run in denoise-runs.csv.`,
      "",
      g.denoise.length === 0 ? "No denoising results yet." : mdTable(dw.header, dw.lines),
      "",
      figMd(`denoise-sigma${headlineSigma}-vs-sparsity-mnist.svg`),
      figMd(`denoise-sigma${headlineSigma}-vs-sparsity-patches.svg`),
      figMd("denoise-psnr-mnist.svg"),
      figMd("denoise-psnr-patches.svg"),
      "## Low-data classification (test accuracy %, mean ± std)",
      "",
      `Classifier: ${protocol}. The ± is over training seeds where a setting has several, else over the ${s.classify.seeds} classifier seeds (last column). Per run in classify-runs.csv.`,
      "",
      g.classify.length === 0 ? "No classification results yet." : mdTable(cw.header, cw.lines),
      "",
      ...familyFigures.map(figMd),
      "## The collapse",
      "",
      figMd("collapse-code-l1.svg"),
      figMd("collapse-atom-norm.svg"),
      collapseMd,
      "",
      "## Atoms",
      "",
      ...g.pictures.map((p) => `- ${datasetTitle[p.dataset]}, ${p.run}: [${p.title}](${relative(root, p.file)})`),
      "",
      `Pictures made by ${mdCaption}.`,
      ""
    ].join("\n")
    const htmlPath = join(root, "report.html")
    const mdPath = join(root, "summary.md")
    yield* writeFileAtomic(htmlPath, html)
    yield* writeFileAtomic(mdPath, md)
    return {
      html: htmlPath,
      markdown: mdPath,
      files: [
        htmlPath,
        mdPath,
        ...["runs", "settings", "denoise", "denoise-runs", "classify", "classify-runs"].flatMap((t) =>
          ["arrow", "csv", "md"].map((e) => join(root, `${t}.${e}`))
        ),
        ...figures.map((f) => join(root, f.file))
      ]
    } satisfies ReportFiles
  })
