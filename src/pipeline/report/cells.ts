/**
 * Values of result rows as the cells of a report's tables, the same in every report: numbers to
 * a few significant digits, a dash for what is missing.
 */
import type { Row } from "../../data/table.js"

/** A number, or NaN for anything else (a missing or non-numeric cell). */
export const asNumber = (v: unknown): number => (typeof v === "number" ? v : NaN)

/** A value as a cell: numbers to `digits` significant digits, yes/no, lists joined, "–" when missing. */
export const formatCell = (v: unknown, digits = 4): string => {
  if (v === null || v === undefined) return "–"
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v)
    return String(Number(v.toPrecision(digits)))
  }
  if (typeof v === "boolean") return v ? "yes" : "no"
  if (Array.isArray(v)) return v.length === 0 ? "none" : v.join(", ")
  return String(v)
}

/** A fraction as a percentage with one decimal, "–" when missing. */
export const percent = (v: unknown): string => (typeof v === "number" ? (100 * v).toFixed(1) : "–")

/**
 * Classification rows (series, perClass, accuracyMean, accuracyStd) as one line per series and
 * one "mean ± std" cell (in %) per number of labelled examples per class.
 */
export const accuracyBySeries = (
  rows: ReadonlyArray<Row>
): { readonly perClass: ReadonlyArray<number>; readonly lines: string[][] } => {
  const perClass = [...new Set(rows.map((r) => asNumber(r.perClass)))].sort((a, b) => a - b)
  const names = [...new Set(rows.map((r) => String(r.series)))]
  const lines = names.map((name) => [
    name,
    ...perClass.map((k) => {
      const r = rows.find((x) => x.series === name && asNumber(x.perClass) === k)
      return r === undefined ? "–" : `${percent(r.accuracyMean)} ± ${percent(r.accuracyStd)}`
    })
  ])
  return { perClass, lines }
}
