/**
 * The spread over training seeds: the rows of runs that differ only in their seed (same data,
 * group, model, λ and length) folded into one row of mean ± sample standard deviation. A setting
 * trained once keeps its one value, with std 0 for the runs and the classifier's own spread for
 * classification, and says which spread it gives.
 */
import type { Row } from "../../data/table.js"
import { asNumber } from "../report/cells.js"

/** Mean and sample standard deviation (0 for one value) of the finite values; NaN when there are none. */
export const meanStd = (
  values: ReadonlyArray<unknown>
): { readonly n: number; readonly mean: number; readonly std: number } => {
  const xs = values.map(asNumber).filter(Number.isFinite)
  const n = xs.length
  if (n === 0) return { n, mean: Number.NaN, std: Number.NaN }
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0
  return { n, mean, std }
}

/** The fields that make runs the same setting: everything but the seed. */
const settingKey = (r: Row) => [r.dataset, r.group, r.model, r.lambda, r.epochs].map(String).join("|")

const groupBy = (rows: ReadonlyArray<Row>, key: (r: Row) => string): Row[][] => {
  const groups = new Map<string, Row[]>()
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r])
  return [...groups.values()]
}

export const SETTING_COLUMNS = [
  "dataset",
  "group",
  "model",
  "lambda",
  "epochs",
  "seeds",
  "valPsnrMean",
  "valPsnrStd",
  "valZeroMean",
  "valZeroStd",
  "valHiddenZeroMean",
  "testPsnrMean",
  "testPsnrStd",
  "testZeroMean",
  "stillImproving"
] as const

/**
 * One row per setting of the finished runs. `stillImproving` counts the seeds whose best epoch
 * was their last: a model still improving when training stopped, whose verdict may change with
 * more epochs.
 */
export const aggregateRuns = (runs: ReadonlyArray<Row>): Row[] =>
  groupBy(
    runs.filter((r) => r.status === "finished"),
    settingKey
  ).map((g) => {
    const first = g[0]
    const val = meanStd(g.map((r) => r.valPsnr))
    const zeros = meanStd(g.map((r) => r.valZeroFraction))
    const test = meanStd(g.map((r) => r.testPsnr))
    return {
      dataset: first.dataset,
      group: first.group,
      model: first.model,
      lambda: first.lambda,
      epochs: first.epochs,
      seeds: g.length,
      valPsnrMean: val.mean,
      valPsnrStd: val.std,
      valZeroMean: zeros.mean,
      valZeroStd: zeros.std,
      valHiddenZeroMean: meanStd(g.map((r) => r.valHiddenZeroFraction)).mean,
      testPsnrMean: test.mean,
      testPsnrStd: test.std,
      testZeroMean: meanStd(g.map((r) => r.testZeroFraction)).mean,
      stillImproving: g.filter((r) => r.bestEpoch !== null && asNumber(r.bestEpoch) === asNumber(r.epochs)).length
    }
  })

export const DENOISE_SETTING_COLUMNS = [
  "dataset",
  "group",
  "model",
  "lambda",
  "epochs",
  "codes",
  "sigma",
  "seeds",
  "noisyPsnr",
  "denoisedMean",
  "denoisedStd",
  "cleanPsnrMean",
  "cleanZeroMean",
  "cleanZeroStd"
] as const

/** Denoising per setting, code kind and σ, over the training seeds. */
export const aggregateDenoise = (rows: ReadonlyArray<Row>): Row[] =>
  groupBy(rows, (r) => `${settingKey(r)}|${r.codes}|${r.sigma}`).map((g) => {
    const first = g[0]
    const denoised = meanStd(g.map((r) => r.denoisedPsnr))
    const zeros = meanStd(g.map((r) => r.cleanZeroFraction))
    return {
      dataset: first.dataset,
      group: first.group,
      model: first.model,
      lambda: first.lambda,
      epochs: first.epochs,
      codes: first.codes,
      sigma: first.sigma,
      seeds: g.length,
      noisyPsnr: meanStd(g.map((r) => r.noisyPsnr)).mean,
      denoisedMean: denoised.mean,
      denoisedStd: denoised.std,
      cleanPsnrMean: meanStd(g.map((r) => r.cleanPsnr)).mean,
      cleanZeroMean: zeros.mean,
      cleanZeroStd: zeros.std
    }
  })

export const CLASSIFY_SETTING_COLUMNS = [
  "series",
  "group",
  "model",
  "lambda",
  "epochs",
  "features",
  "perClass",
  "seeds",
  "accuracyMean",
  "accuracyStd",
  "spreadOver"
] as const

/** A setting's name in tables and legends: "VDL-NL λ 0.01, 200 ep", "VDL λ 0.02, 20 ep, 3 seeds". */
export const settingName = (r: Row, seeds: number): string =>
  `${String(r.model).toUpperCase()} λ ${r.lambda}, ${r.epochs} ep${seeds > 1 ? `, ${seeds} seeds` : ""}`

/**
 * Classification per setting, code kind and K. With several training seeds the spread is over
 * them (of each seed's mean over classifier seeds); with one, it is the classifier seeds' own.
 * The baselines (pixels, LISTA), which use no trained run, keep their series name.
 */
export const aggregateClassify = (rows: ReadonlyArray<Row>): Row[] =>
  groupBy(rows, (r) =>
    r.model === null || r.model === undefined
      ? `baseline|${r.series}|${r.perClass}`
      : `${settingKey({ ...r, dataset: "mnist" })}|${r.features}|${r.perClass}`
  ).map((g) => {
    const first = g[0]
    const acc = meanStd(g.map((r) => r.accuracyMean))
    const baseline = first.model === null || first.model === undefined
    const seeds = g.length
    return {
      series: baseline
        ? String(first.series)
        : `${settingName(first, seeds)} ${first.features === "fista" ? "FISTA" : "encoder"}`,
      group: baseline ? null : first.group,
      model: baseline ? null : first.model,
      lambda: baseline ? null : first.lambda,
      epochs: baseline ? null : first.epochs,
      features: first.features,
      perClass: first.perClass,
      seeds,
      accuracyMean: acc.mean,
      accuracyStd: seeds > 1 ? acc.std : asNumber(first.accuracyStd),
      spreadOver: seeds > 1 ? "training seeds" : "classifier seeds"
    }
  })

/** The families classification is drawn in, one panel each. */
export const classifyFamilies = [
  { id: "linear", title: "linear decoders (SDL, VDL, WDL)", models: ["sdl", "vdl", "wdl"] },
  { id: "multilayer", title: "multi-layer decoders (SDL-NL, VDL-NL, WDL-NL)", models: ["sdl-nl", "vdl-nl", "wdl-nl"] },
  { id: "baselines", title: "baselines (pixels, LISTA end to end, no regulariser)", models: ["noreg"] }
] as const

/** The family a classification row is drawn in: by its model, the runless baselines with the baselines. */
export const familyOf = (r: Row): (typeof classifyFamilies)[number]["id"] => {
  if (r.model === null || r.model === undefined) return "baselines"
  return classifyFamilies.find((f) => (f.models as ReadonlyArray<string>).includes(String(r.model)))?.id ?? "baselines"
}
