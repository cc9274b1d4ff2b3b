import { Effect } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { linePlotSvg } from "../../data/plot.js"
import { type Row, tableToArrowIpc, tableToCsv, tableToMarkdown } from "../../data/table.js"
import type { RunOutcome } from "./local.js"

/** The summary's columns, in order; one row per run, failed runs with empty figures. */
const SUMMARY_COLUMNS = [
  "run",
  "model",
  "lambda",
  "status",
  "epochs",
  "bestEpoch",
  "valPsnr",
  "valZeroFraction",
  "valEnergy",
  "valHiddenZeroFraction",
  "testPsnr",
  "testZeroFraction",
  "testEnergy",
  "testHiddenZeroFraction",
  "meanFistaSteps",
  "secondsPerEpoch",
  "backend"
] as const

export const summaryRows = (outcomes: ReadonlyArray<RunOutcome>): Row[] =>
  outcomes.map((o): Row => {
    const head: Row = { run: o.run.name, model: o.run.model, lambda: o.run.lambda, epochs: o.run.expected.epochs }
    if (o.status === "failed") return { ...head, status: "failed" }
    const s = o.summary
    return {
      ...head,
      status: "finished",
      bestEpoch: s.bestEpoch,
      valPsnr: s.val.psnr,
      valZeroFraction: s.val.zeroFraction,
      valEnergy: s.val.energy,
      valHiddenZeroFraction: s.val.hiddenZeroFraction,
      testPsnr: s.test?.psnr ?? null,
      testZeroFraction: s.test?.zeroFraction ?? null,
      testEnergy: s.test?.energy ?? null,
      testHiddenZeroFraction: s.test?.hiddenZeroFraction ?? null,
      meanFistaSteps: s.meanFistaSteps,
      secondsPerEpoch: s.secondsPerEpoch,
      backend: s.backend
    }
  })

/**
 * The paper's main figure: reconstruction quality against sparsity, one curve per variant, each
 * point a λ. Points are joined in order of sparsity, so that a curve reads as a trade-off.
 */
export const tradeoffSeries = (outcomes: ReadonlyArray<RunOutcome>) => {
  const models = [...new Set(outcomes.map((o) => o.run.model))]
  return models.flatMap((model) => {
    const points = outcomes
      .flatMap((o) =>
        o.run.model === model && o.status !== "failed" ? [{ x: o.summary.val.zeroFraction, y: o.summary.val.psnr }] : []
      )
      .sort((a, b) => a.x - b.x)
    return points.length === 0
      ? []
      : [{ name: model.toUpperCase(), x: points.map((p) => p.x), y: points.map((p) => p.y) }]
  })
}

const FIGURE_FILE = "psnr-vs-sparsity.svg"

/** summary.arrow / .csv / .md and the figure, in the sweep's folder; returns the files written. */
export const writeSweepReport = (out: string, outcomes: ReadonlyArray<RunOutcome>) =>
  Effect.gen(function* () {
    yield* ensureDir(out)
    const rows = summaryRows(outcomes)
    const columns = [...SUMMARY_COLUMNS]
    yield* writeFileAtomic(join(out, "summary.arrow"), tableToArrowIpc(rows, columns))
    yield* writeFileAtomic(join(out, "summary.csv"), tableToCsv(rows, columns))
    yield* writeFileAtomic(join(out, "summary.md"), tableToMarkdown(rows, columns, { digits: 4 }))
    const files = ["summary.arrow", "summary.csv", "summary.md"].map((f) => join(out, f))
    const series = tradeoffSeries(outcomes)
    if (series.length === 0) {
      yield* Effect.logWarning("sweep: no run finished, so there is no figure")
      return files
    }
    const svg = yield* linePlotSvg({
      title: "PSNR against sparsity (validation set, encoder codes; one point per λ)",
      xLabel: "fraction of zero code entries",
      yLabel: "PSNR (dB)",
      series
    })
    yield* writeFileAtomic(join(out, FIGURE_FILE), svg)
    return [...files, join(out, FIGURE_FILE)]
  })
