import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { type NumberColumnType, readArrowIpcTable, type Row, tableToArrowIpc, tableToCsv } from "../../data/table.js"
import type { SplitMetrics } from "../../models/model.js"
import { atomShapeColumnNames } from "../report/atom-report.js"
import { MetricsFileError } from "../errors.js"
import { metricsCsvFile, metricsFile } from "./layout.js"

/** The figures of a split under one prefix, as metrics.arrow names them. */
export const metricColumns = (prefix: string, m: SplitMetrics): Row => ({
  [`${prefix}Energy`]: m.energy,
  [`${prefix}Psnr`]: m.psnr,
  [`${prefix}ZeroFraction`]: m.zeroFraction,
  [`${prefix}HiddenZeroFraction`]: m.hiddenZeroFraction
})

/** The columns every run writes to metrics.arrow, in order; the hidden-layer ones are null for a linear decoder. */
export const metricsColumnNames = [
  "epoch",
  "seconds",
  "samplesPerSecond",
  "meanFistaSteps",
  ...["train", "val"].flatMap((p) => ["Energy", "Psnr", "ZeroFraction", "HiddenZeroFraction"].map((m) => `${p}${m}`)),
  ...atomShapeColumnNames
] as const

/** Columns that runs of earlier versions did not write: a resume of such a run fills them with nulls. */
const laterColumns: ReadonlySet<string> = new Set(atomShapeColumnNames)

const builtIn: ReadonlySet<string> = new Set(metricsColumnNames)

/** Whether a column name is one the run writes itself, so that a hook cannot take it. */
export const isBuiltInColumn = (name: string): boolean => builtIn.has(name)

/** The training figures of an epoch as its row in metrics.arrow holds them. */
export const trainMetricsOf = (row: Row): SplitMetrics => ({
  energy: Number(row.trainEnergy),
  psnr: Number(row.trainPsnr),
  zeroFraction: Number(row.trainZeroFraction),
  hiddenZeroFraction: row.trainHiddenZeroFraction === null ? null : Number(row.trainHiddenZeroFraction),
  meanFistaSteps: Number(row.meanFistaSteps)
})

/** The rows of a metrics table, and the columns hooks added after the built-in ones, in order. */
export interface MetricsTable {
  readonly rows: Row[]
  readonly extraColumns: readonly string[]
}

/** The built-in columns that are counts: integers in metrics.arrow, not floats. */
const integerColumns: Readonly<Record<string, NumberColumnType>> = { epoch: "int32" }

/**
 * metrics.arrow and metrics.csv in `out`: the built-in columns, then those of the hooks (a hook's
 * boolean column is an Arrow Bool column). Files of earlier versions, every column Float64, read
 * the same.
 */
export const writeMetrics = (out: string, table: MetricsTable) => {
  const columns = [...metricsColumnNames, ...table.extraColumns]
  return writeFileAtomic(join(out, metricsFile), tableToArrowIpc(table.rows, columns, integerColumns)).pipe(
    Effect.zipRight(writeFileAtomic(join(out, metricsCsvFile), tableToCsv(table.rows, columns)))
  )
}

const errnoCode = (e: unknown): unknown => (e as { code?: unknown } | null)?.code

/**
 * Reads a metrics.arrow written by a run and checks that it has every column a run writes, as
 * numbers, with epochs numbered 1, 2, …: a resume continues the table, and a table of another
 * shape would be continued into nonsense. Columns added by hooks are kept, as numbers, booleans or nulls.
 */
export const readMetrics = (path: string): Effect.Effect<MetricsTable, MetricsFileError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new MetricsFileError({ file: path, problem }))
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (e) =>
        new MetricsFileError({
          file: path,
          problem:
            errnoCode(e) === "ENOENT"
              ? "it does not exist. A run writes it after its first epoch; start a new run if none finished"
              : `it cannot be read (${e instanceof Error ? e.message : String(e)})`
        })
    })
    const table = yield* Effect.try({
      try: () => readArrowIpcTable(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      // The Arrow reader meets a cut file as a TypeError from deep inside; its text says nothing to a person.
      catch: (e) =>
        new MetricsFileError({
          file: path,
          problem: `it cannot be read as an Arrow table (${e instanceof TypeError ? "it is truncated or damaged" : e instanceof Error ? e.message.split("\n")[0] : String(e)}). Restore the file written by the run, or start a new run`
        })
    })
    const missing = metricsColumnNames.filter((c) => !table.columns.includes(c) && !laterColumns.has(c))
    if (missing.length > 0) {
      return yield* fail(
        `it lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it has ${table.columns.join(", ") || "none"}): it was not written by a training run. Restore the file written by the run, or start a new run`
      )
    }
    const extraColumns = table.columns.filter((c) => !builtIn.has(c))
    const rows: Row[] = []
    for (const [i, r] of table.rows.entries()) {
      const row: Row = {}
      for (const c of [...metricsColumnNames, ...extraColumns]) {
        const v = table.columns.includes(c) ? r[c] : null
        const nullable = c.endsWith("HiddenZeroFraction") || laterColumns.has(c) || !builtIn.has(c)
        const allowed = typeof v === "number" || (typeof v === "boolean" && !builtIn.has(c)) || (v === null && nullable)
        if (!allowed) {
          const held =
            v === null
              ? "an empty value"
              : typeof v === "string"
                ? `the text ${JSON.stringify(v)}`
                : `the value ${String(v)}`
          return yield* fail(
            `column ${c} holds ${held} in row ${i + 1}, where a run writes a number. Restore the file written by the run, or start a new run`
          )
        }
        row[c] = v
      }
      if (row.epoch !== i + 1)
        return yield* fail(
          `row ${i + 1} is numbered epoch ${row.epoch}; a run numbers its rows 1, 2, 3, …. Restore the file written by the run, or start a new run`
        )
      rows.push(row)
    }
    return { rows, extraColumns }
  })
