import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { readArrowIpcTable, type Row, tableToArrowIpc, tableToCsv, tableToMarkdown } from "../../data/table.js"

/** A table as NAME.arrow (for programs), NAME.csv (for spreadsheets) and NAME.md (for people). */
export const writeTable = (dir: string, name: string, rows: ReadonlyArray<Row>, columns: ReadonlyArray<string>) =>
  Effect.all([
    writeFileAtomic(join(dir, `${name}.arrow`), tableToArrowIpc(rows, columns)),
    writeFileAtomic(join(dir, `${name}.csv`), tableToCsv(rows, columns)),
    writeFileAtomic(join(dir, `${name}.md`), tableToMarkdown(rows, columns, { digits: 4 }))
  ]).pipe(Effect.asVoid)

/** The rows of an Arrow table written by writeTable, or null when the file is absent or unreadable. */
export const readTableIfPresent = (path: string) =>
  Effect.promise(async () => {
    try {
      return readArrowIpcTable(new Uint8Array(await readFile(path)))
    } catch {
      return null
    }
  })

/** A comma-separated list of numbers as typed on a command line, e.g. "0.5,1,1.5,2". */
export const parseNumberList = (raw: string): number[] | null => {
  const parts = raw.split(",").map((p) => p.trim())
  if (parts.length === 0 || parts.some((p) => p === "")) return null
  const values = parts.map(Number)
  return values.every(Number.isFinite) ? values : null
}

/** A σ or K as it reads in a file name or a legend: 0.5, 1, 1.5. */
export const shortNumber = (x: number): string => String(Number(x.toPrecision(6)))
