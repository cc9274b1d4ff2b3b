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
  "run",
  "model",
  "lambda",
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
  "run",
  "model",
  "lambda",
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
  "run",
  "model",
  "lambda",
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

/** Everything the steps left in their folders, as rows. */
export const gatherResults = (plan: PaperPlan, outcomes: ReadonlyArray<StepOutcome>): Gathered => {
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
      run: t.request.name,
      model: t.request.model,
      lambda: t.request.lambda,
      role: t.role,
      runDir: dir
    }
    const st = status.get(t.id)
    if (s === null || st === "failed" || st === "blocked") {
      runs.push({ ...head, status: st === "blocked" ? "blocked" : "failed", epochs: t.request.expected.epochs })
      continue
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
        dataset: t.dataset,
        run: t.request.name,
        model: t.request.model,
        lambda: t.request.lambda,
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
        series: `${t.request.name} ${r.features === "fista" ? "FISTA" : "encoder"}`,
        run: t.request.name,
        model: t.request.model,
        lambda: t.request.lambda,
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
        run: null,
        model: null,
        lambda: null,
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

const byModel = (rows: ReadonlyArray<Row>) => [...new Set(rows.map((r) => String(r.model)))]

/** The figures, each an SVG with the provenance footer; a figure with nothing to show is left out. */
const makeFigures = (g: Gathered, prov: Provenance) =>
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
      const done = g.runs.filter((r) => r.dataset === dataset && r.status === "finished")
      const series: LineSeries[] = byModel(done).map((model) => {
        const pts = done
          .filter((r) => r.model === model)
          .map((r) => ({ x: asNumber(r.valZeroFraction), y: asNumber(r.valPsnr) }))
          .sort((a, b) => a.x - b.x)
        return { name: model.toUpperCase(), x: pts.map((p) => p.x), y: pts.map((p) => p.y) }
      })
      if (series.length > 0) {
        yield* add(
          `psnr-vs-sparsity-${dataset}.svg`,
          `${datasetTitle[dataset]}: validation PSNR against the fraction of zero code entries`,
          {
            title: `${datasetTitle[dataset]}: PSNR against sparsity (validation, encoder codes; one point per λ)`,
            xLabel: "fraction of zero code entries",
            yLabel: "PSNR (dB)",
            series
          }
        )
      }
      const dn = g.denoise.filter((r) => r.dataset === dataset && r.codes === "encoder")
      if (dn.length > 0) {
        const curves: LineSeries[] = [...new Set(dn.map((r) => String(r.run)))].map((run) => {
          const mine = dn.filter((r) => r.run === run).sort((a, b) => asNumber(a.sigma) - asNumber(b.sigma))
          return { name: run, x: mine.map((r) => asNumber(r.sigma)), y: mine.map((r) => asNumber(r.denoisedPsnr)) }
        })
        const first = dn.filter((r) => r.run === dn[0].run).sort((a, b) => asNumber(a.sigma) - asNumber(b.sigma))
        curves.push({
          name: "noisy input",
          x: first.map((r) => asNumber(r.sigma)),
          y: first.map((r) => asNumber(r.noisyPsnr))
        })
        yield* add(`denoise-psnr-${dataset}.svg`, `${datasetTitle[dataset]}: denoising PSNR against the noise level`, {
          title: `${datasetTitle[dataset]}: denoising (test set, encoder codes of the noisy input)`,
          xLabel: "noise σ (normalised input space)",
          yLabel: "PSNR against the clean image (dB)",
          series: curves
        })
      }
    }
    const cl = g.classify.filter((r) => r.features !== "fista")
    if (cl.length > 0) {
      const series: LineSeries[] = [...new Set(cl.map((r) => String(r.series)))].map((name) => {
        const mine = cl.filter((r) => r.series === name).sort((a, b) => asNumber(a.perClass) - asNumber(b.perClass))
        return { name, x: mine.map((r) => asNumber(r.perClass)), y: mine.map((r) => 100 * asNumber(r.accuracyMean)) }
      })
      yield* add(
        "classify-accuracy.svg",
        "MNIST: low-data classification, test accuracy against labelled examples per class",
        {
          title: "Low-data classification on MNIST (encoder codes and baselines; mean over seeds)",
          xLabel: "labelled examples per class",
          yLabel: "test top-1 accuracy (%)",
          logX: true,
          series
        }
      )
    }
    if (g.collapse.length > 0) {
      const models = byModel(g.collapse)
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

/** Denoising as one line per run and code kind, one column per σ. */
const denoiseWide = (rows: ReadonlyArray<Row>): { header: string[]; lines: string[][] } => {
  const sigmas = [...new Set(rows.map((r) => asNumber(r.sigma)))].sort((a, b) => a - b)
  const header = ["data", "run", "codes", "clean", ...sigmas.map((s) => `σ ${s}`)]
  const lines: string[][] = []
  const keys = [...new Set(rows.map((r) => `${r.dataset}|${r.run}|${r.codes}`))]
  for (const dataset of ["mnist", "patches"]) {
    const noisy = rows.filter((r) => r.dataset === dataset && r.codes === "encoder")
    if (noisy.length === 0) continue
    const firstRun = noisy[0].run
    lines.push([
      dataset,
      "noisy input",
      "–",
      "–",
      ...sigmas.map((s) =>
        formatCell(asNumber(noisy.find((r) => r.run === firstRun && asNumber(r.sigma) === s)?.noisyPsnr))
      )
    ])
    for (const key of keys.filter((k) => k.startsWith(`${dataset}|`))) {
      const [, run, codes] = key.split("|")
      const mine = rows.filter((r) => r.dataset === dataset && r.run === run && r.codes === codes)
      lines.push([
        dataset,
        run,
        codes === "fista" ? "FISTA" : "encoder",
        formatCell(mine[0]?.cleanPsnr),
        ...sigmas.map((s) => formatCell(mine.find((r) => asNumber(r.sigma) === s)?.denoisedPsnr))
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
export const writePaperReport = (plan: PaperPlan, outcomes: ReadonlyArray<StepOutcome>, prov: Provenance) =>
  Effect.gen(function* () {
    const root = plan.spec.out
    yield* ensureDir(root)
    const g = gatherResults(plan, outcomes)
    yield* writeTable(root, "runs", g.runs, RUN_COLUMNS)
    yield* writeTable(root, "denoise", g.denoise, DENOISE_COLUMNS)
    yield* writeTable(root, "classify", g.classify, CLASSIFY_COLUMNS)
    const figures = yield* makeFigures(g, prov)
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

    // The plan at a glance.
    const planLines: string[][] = []
    for (const dataset of ["mnist", "patches"] as const) {
      const table = plan.lambdas[dataset]
      const epochsOf = (model: string) =>
        String(dataset === "mnist" ? mnistEpochsOf(plan.sizes, model, plan.spec.epochs) : plan.epochs.patches)
      for (const [model, ls] of Object.entries(table))
        planLines.push([datasetTitle[dataset], model, ls.join(", "), epochsOf(model)])
      if (dataset === "mnist") {
        for (const r of g.runs.filter((x) => x.dataset === "mnist" && x.role === "default"))
          planLines.push([datasetTitle.mnist, String(r.model), `${r.lambda} (preset)`, epochsOf(String(r.model))])
      }
    }
    const planHeader = ["data", "model", "λ", "epochs"]
    const s = plan.sizes
    const sizesText =
      `scale ${plan.spec.scale}; MNIST ${s.mnist.trainSize === null ? "all 55,000" : s.mnist.trainSize} training images; patches ${s.patches.train} / ${s.patches.val} / ${s.patches.test}; ` +
      `denoising σ ${s.denoise.sigmas.join(", ")} on ${s.denoise.limit === null ? "all" : `the first ${s.denoise.limit}`} test images; ` +
      `classification K ${s.classify.perClass.join(", ")}, ${s.classify.seeds} seeds, ${s.classify.epochs} epochs; collapse ${s.collapse.models.join(" vs ")}, ${plan.epochs.collapse} epochs`
    const runLines = g.runs.map((r) => [
      String(r.run),
      String(r.dataset),
      String(r.model),
      formatCell(r.lambda),
      String(r.status),
      formatCell(r.epochs),
      formatCell(r.valPsnr),
      formatCell(r.valZeroFraction),
      formatCell(r.valHiddenZeroFraction),
      formatCell(r.testPsnr),
      formatCell(r.testZeroFraction)
    ])
    const runHeader = [
      "run",
      "data",
      "model",
      "λ",
      "status",
      "epochs",
      "val PSNR",
      "val zeros",
      "val hidden zeros",
      "test PSNR",
      "test zeros"
    ]
    const dw = denoiseWide(g.denoise)
    const accuracy = accuracyBySeries(g.classify)
    const cw = { header: ["series", ...accuracy.perClass.map((k) => `K = ${k}`)], lines: accuracy.lines }
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
          return `<figure><p class="note">${escapeHtml(p.file)} (too large to embed)</p>${caption(title)}</figure>`
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
${counts("ran")} steps ran, ${counts("skipped")} were done already, ${failures.length} did not finish.</p>
<nav><a href="#plan">plan</a> · <a href="#sparsity">PSNR against sparsity</a> · <a href="#runs">runs</a> · <a href="#denoising">denoising</a> · <a href="#classification">classification</a> · <a href="#collapse">collapse</a> · <a href="#atoms">atoms</a></nav>
${failureHtml}
<section id="plan"><h2>The plan</h2><p class="note">${escapeHtml(sizesText)}</p>${htmlTable({ header: planHeader, rows: planLines })}</section>
<section id="sparsity"><h2>PSNR against sparsity</h2><p class="note">The paper compares the variants at matched sparsity: each point is one λ, its validation PSNR (encoder codes) against its fraction of zero code entries.</p>
${figHtml("psnr-vs-sparsity-mnist.svg")}${figHtml("psnr-vs-sparsity-patches.svg")}</section>
<section id="runs"><h2>Runs</h2>${htmlTable({ header: runHeader, rows: runLines })}</section>
<section id="denoising"><h2>Denoising</h2><p class="note">PSNR (dB) against the clean test image of the reconstruction from the codes of the noisy input (Gaussian noise of std σ in normalised input space); "clean" is the reconstruction of the clean input.</p>
${htmlTable({ header: dw.header, rows: dw.lines })}${figHtml("denoise-psnr-mnist.svg")}${figHtml("denoise-psnr-patches.svg")}</section>
<section id="classification"><h2>Low-data classification (MNIST)</h2><p class="note">Test top-1 accuracy (%), mean ± standard deviation over ${s.classify.seeds} seeds, of a linear classifier on K labelled training images per class, selected by validation loss.</p>
${htmlTable({ header: cw.header, rows: cw.lines })}${figHtml("classify-accuracy.svg")}</section>
<section id="collapse"><h2>The collapse without a regulariser</h2>${figHtml("collapse-code-l1.svg")}${figHtml("collapse-atom-norm.svg")}</section>
<section id="atoms"><h2>Atoms</h2>${pictureHtml || `<p class="note">No run has finished yet.</p>`}</section>`
    })
    const md = [
      `# Sparse coding with variance regularisation: the paper's experiments (${plan.spec.scale})`,
      "",
      `Generated ${prov.generated} by \`${prov.command}\` at commit \`${prov.commit}\`. ${counts("ran")} steps ran, ${counts("skipped")} were done already, ${failures.length} did not finish. The same in one page: [report.html](report.html).`,
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
      figMd("psnr-vs-sparsity-mnist.svg"),
      figMd("psnr-vs-sparsity-patches.svg"),
      "## Runs",
      "",
      mdTable(runHeader, runLines),
      "",
      "Also in runs.csv / runs.arrow.",
      "",
      "## Denoising (PSNR in dB)",
      "",
      g.denoise.length === 0 ? "No denoising results yet." : mdTable(dw.header, dw.lines),
      "",
      figMd("denoise-psnr-mnist.svg"),
      figMd("denoise-psnr-patches.svg"),
      "## Low-data classification (test accuracy %, mean ± std over seeds)",
      "",
      g.classify.length === 0 ? "No classification results yet." : mdTable(cw.header, cw.lines),
      "",
      figMd("classify-accuracy.svg"),
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
        ...["runs", "denoise", "classify"].flatMap((t) => ["arrow", "csv", "md"].map((e) => join(root, `${t}.${e}`))),
        ...figures.map((f) => join(root, f.file))
      ]
    } satisfies ReportFiles
  })
