/**
 * Models compared at equal sparsity, as the paper compares them. A model trained at several λ
 * draws a curve of a figure (validation PSNR, or denoised PSNR at one σ) against its codes' zero
 * fraction; the curve is read at a chosen zero fraction by linear interpolation between its λ
 * levels, never beyond its ends. A setting trained once per λ but over several seeds gives a point
 * with its spread, which is read against the other models' curves at that point's own sparsity.
 */
import { Data, Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { type Row, readArrowIpc } from "../../data/table.js"
import { asNumber as num } from "../report/cells.js"

export interface CurvePoint {
  readonly zeros: number
  readonly value: number
}

/** A model's curve on one data set: its points at each λ, of one training length. */
export interface Curve {
  readonly dataset: string
  readonly model: string
  readonly epochs: number
  readonly points: ReadonlyArray<CurvePoint>
}

/** A setting's mean over training seeds, with the spread of both coordinates. */
export interface SpreadPoint {
  readonly dataset: string
  readonly model: string
  readonly lambda: number
  readonly epochs: number
  readonly seeds: number
  readonly zeros: number
  readonly zerosStd: number
  readonly value: number
  readonly valueStd: number
  /** How many of the seeds had their best epoch at the last: still improving when training stopped. */
  readonly stillImproving: number | null
}

/** The curve's value at this zero fraction, interpolated between its neighbouring λ levels; null outside the levels' range. */
export const atSparsity = (points: ReadonlyArray<CurvePoint>, zeros: number): number | null => {
  const sorted = points.filter((p) => Number.isFinite(p.zeros) && Number.isFinite(p.value))
  sorted.sort((a, b) => a.zeros - b.zeros)
  const level = sorted.find((p) => p.zeros === zeros)
  if (level !== undefined) return level.value
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [a, b] = [sorted[i], sorted[i + 1]]
    if (a.zeros < zeros && zeros < b.zeros) {
      return a.value + ((zeros - a.zeros) / (b.zeros - a.zeros)) * (b.value - a.value)
    }
  }
  return null
}

export class MatchedInputError extends Data.TaggedError("MatchedInputError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: ${this.problem}. Pass the results folder that sparse-vdl paper --results wrote (it holds runs.arrow, settings.arrow and denoise.arrow)`
  }
}

const readRows = (dir: string, name: string): Effect.Effect<Row[], MatchedInputError> => {
  const file = join(dir, name)
  return Effect.try({
    try: () => readArrowIpc(new Uint8Array(readFileSync(file))),
    catch: (e) => new MatchedInputError({ file, problem: e instanceof Error ? e.message : String(e) })
  })
}

const groupCurves = (rows: ReadonlyArray<{ dataset: string; model: string; epochs: number } & CurvePoint>): Curve[] => {
  const curves = new Map<string, { dataset: string; model: string; epochs: number; points: CurvePoint[] }>()
  for (const r of rows) {
    const key = `${r.dataset}|${r.model}|${r.epochs}`
    const curve = curves.get(key) ?? { dataset: r.dataset, model: r.model, epochs: r.epochs, points: [] }
    curve.points.push({ zeros: r.zeros, value: r.value })
    curves.set(key, curve)
  }
  return [...curves.values()]
}

/** Validation PSNR against validation zero fraction (encoder codes), one curve per data set, model and length, from runs.arrow's finished runs. */
export const readPsnrCurves = (dir: string): Effect.Effect<Curve[], MatchedInputError> =>
  readRows(dir, "runs.arrow").pipe(
    Effect.map((rows) =>
      groupCurves(
        rows
          .filter((r) => r.status === "finished")
          .map((r) => ({
            dataset: String(r.dataset),
            model: String(r.model),
            epochs: num(r.epochs),
            zeros: num(r.valZeroFraction),
            value: num(r.valPsnr)
          }))
      )
    )
  )

/** Denoised test PSNR at noise σ against the clean codes' zero fraction (encoder codes: the paper's use), per run from denoise.arrow, each run's length from runs.arrow. */
export const readDenoiseCurves = (dir: string, sigma: number): Effect.Effect<Curve[], MatchedInputError> =>
  Effect.all([readRows(dir, "runs.arrow"), readRows(dir, "denoise.arrow")]).pipe(
    Effect.map(([runs, rows]) => {
      const epochs = new Map(runs.map((r) => [`${r.dataset}|${r.run}`, num(r.epochs)]))
      return groupCurves(
        rows
          .filter((r) => r.codes === "encoder" && num(r.sigma) === sigma && r.model !== null)
          .map((r) => ({
            dataset: String(r.dataset),
            model: String(r.model),
            epochs: epochs.get(`${r.dataset}|${r.run}`) ?? Number.NaN,
            zeros: num(r.cleanZeroFraction),
            value: num(r.denoisedPsnr)
          }))
      )
    })
  )

/** Each setting's validation PSNR and zero fraction over its training seeds, from settings.arrow. */
export const readPsnrPoints = (dir: string): Effect.Effect<SpreadPoint[], MatchedInputError> =>
  readRows(dir, "settings.arrow").pipe(
    Effect.map((rows) =>
      rows.map((r) => ({
        dataset: String(r.dataset),
        model: String(r.model),
        lambda: num(r.lambda),
        epochs: num(r.epochs),
        seeds: num(r.seeds),
        zeros: num(r.valZeroMean),
        zerosStd: num(r.valZeroStd),
        value: num(r.valPsnrMean),
        valueStd: num(r.valPsnrStd),
        stillImproving: r.stillImproving === null ? null : num(r.stillImproving)
      }))
    )
  )

/** Each setting's denoised PSNR at σ (encoder codes) over its training seeds, from denoise.arrow of a paper-scale results folder; whether it was still improving, from settings.arrow. */
export const readDenoisePoints = (dir: string, sigma: number): Effect.Effect<SpreadPoint[], MatchedInputError> =>
  Effect.all([readPsnrPoints(dir), readRows(dir, "denoise.arrow")]).pipe(
    Effect.map(([settings, rows]) => {
      const key = (dataset: unknown, model: unknown, lambda: number, epochs: number) =>
        `${dataset}|${model}|${lambda}|${epochs}`
      const improving = new Map(settings.map((p) => [key(p.dataset, p.model, p.lambda, p.epochs), p.stillImproving]))
      return rows
        .filter((r) => r.codes === "encoder" && num(r.sigma) === sigma && r.model !== null)
        .map((r) => ({
          dataset: String(r.dataset),
          model: String(r.model),
          lambda: num(r.lambda),
          epochs: num(r.epochs),
          seeds: num(r.seeds),
          zeros: num(r.cleanZeroMean),
          zerosStd: num(r.cleanZeroStd),
          value: num(r.denoisedMean),
          valueStd: num(r.denoisedStd),
          stillImproving: improving.get(key(r.dataset, r.model, num(r.lambda), num(r.epochs))) ?? null
        }))
    })
  )

/** One point beside every curve of its data set read at the point's own zero fraction (null where a curve does not reach it). */
export interface MatchedRow {
  readonly point: SpreadPoint
  readonly curves: ReadonlyArray<{ readonly curve: Curve; readonly value: number | null }>
}

/** Curves of two λ levels or more: one level is a point, which matches nothing but its own sparsity. */
export const drawnCurves = (curves: ReadonlyArray<Curve>): Curve[] => curves.filter((c) => c.points.length >= 2)

export const matchPoints = (points: ReadonlyArray<SpreadPoint>, curves: ReadonlyArray<Curve>): MatchedRow[] =>
  points.map((point) => ({
    point,
    curves: drawnCurves(curves)
      .filter((c) => c.dataset === point.dataset)
      .map((curve) => ({ curve, value: atSparsity(curve.points, point.zeros) }))
  }))
