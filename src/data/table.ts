import {
  Bool,
  type DataType,
  Float64,
  Int32,
  Table,
  Type,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray
} from "apache-arrow"

/** One row of a metrics table: missing keys and `null` both mean "no value". */
export type Row = Record<string, number | string | boolean | null>

/**
 * The Arrow type of a number column. Counts and indices are "int32" so that a reader (pandas,
 * polars) sees integers rather than floats; numbers are "float64" unless a writer says otherwise.
 */
export type NumberColumnType = "float64" | "int32"

/**
 * Conventions shared by the writers, chosen so that nothing is lost silently:
 * - A column holds numbers, strings or booleans, never two of them (mixing is a bug upstream and throws).
 * - A column with no values at all is a number column of nulls.
 * - Booleans are Arrow Bool columns, and `true`/`false` in CSV and Markdown.
 * - NaN and ±Infinity are numbers, not nulls: Arrow keeps them as is; CSV and
 *   Markdown write `NaN`, `Infinity`, `-Infinity`. `null` is an empty cell.
 */

const has = (row: Row, key: string): boolean => Object.prototype.hasOwnProperty.call(row, key)

const cell = (row: Row, key: string): number | string | boolean | null => (has(row, key) ? (row[key] ?? null) : null)

/**
 * Column order: as given, else the order keys are first seen across rows.
 * An empty name is refused everywhere because Arrow JS reads it back as "null".
 */
const columnsOf = (rows: readonly Row[], columns?: readonly string[]): string[] => {
  let names: string[]
  if (columns !== undefined) {
    const seen = new Set<string>()
    for (const c of columns) {
      if (seen.has(c)) throw new RangeError(`table: column ${JSON.stringify(c)} is listed twice`)
      seen.add(c)
    }
    names = [...columns]
  } else {
    const seen = new Set<string>()
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key)
    names = [...seen]
  }
  if (names.includes("")) throw new RangeError("table: a column has an empty name; give it one")
  return names
}

type Kind = "number" | "string" | "boolean"

const kindOf = (rows: readonly Row[], column: string): Kind => {
  let kind: Kind | undefined
  rows.forEach((row, i) => {
    const v = cell(row, column)
    if (v === null) return
    const k = typeof v
    if (k !== "number" && k !== "string" && k !== "boolean") {
      throw new TypeError(
        `table: column ${JSON.stringify(column)}, row ${i}: expected a number, string, boolean or null, got ${k}`
      )
    }
    if (kind !== undefined && kind !== k) {
      throw new TypeError(
        `table: column ${JSON.stringify(column)} mixes ${kind}s and ${k}s (row ${i} is a ${k}); ` +
          "give each column one type"
      )
    }
    kind = k as Kind
  })
  return kind ?? "number"
}

const arrowType = (kind: Kind, numberType: NumberColumnType): DataType =>
  kind === "string"
    ? new Utf8()
    : kind === "boolean"
      ? new Bool()
      : numberType === "int32"
        ? new Int32()
        : new Float64()

/**
 * Arrow IPC *file* format bytes, all columns nullable: numbers as Float64, or Int32 where
 * `numberTypes` says so (a non-integer value there throws), strings as Utf8, booleans as Bool.
 * Arrow counts rows per column, so rows without any column read back as no rows.
 */
export const tableToArrowIpc = (
  rows: readonly Row[],
  columns?: readonly string[],
  numberTypes: Readonly<Record<string, NumberColumnType>> = {}
): Uint8Array => {
  const names = columnsOf(rows, columns)
  const vectors = Object.fromEntries(
    names.map((name) => {
      const values = rows.map((row) => cell(row, name))
      const numberType = Object.hasOwn(numberTypes, name) ? numberTypes[name] : "float64"
      const kind = kindOf(rows, name)
      if (kind === "number" && numberType === "int32") {
        const bad = values.findIndex((v) => v !== null && !(Number.isInteger(v) && Math.abs(v as number) <= 0x7fffffff))
        if (bad >= 0)
          throw new TypeError(
            `table: column ${JSON.stringify(name)} is written as Int32 but row ${bad} holds ${String(values[bad])}, not a 32-bit integer`
          )
      }
      return [name, vectorFromArray(values, arrowType(kind, numberType))]
    })
  )
  // The object of vectors would list integer-like names first; select restores the order.
  return tableToIPC(new Table(vectors).select(names), "file")
}

/** A table read back: `columns` keeps the file's column order, which `rows` cannot always show (see below). */
export interface ReadTable {
  readonly columns: string[]
  readonly rows: Row[]
}

/**
 * Reads Arrow IPC bytes (file or stream format): numeric columns of any width
 * as numbers (64-bit integers too), Utf8 as strings, Bool as booleans. Files
 * written before booleans and integers had their own types (every number
 * column Float64) read as they always did. Other types throw rather than come
 * back mangled.
 *
 * JavaScript objects list integer-like keys ("0", "2024") before all others,
 * so a row's key order can differ from the file's; pass `columns` on to the
 * writers when order matters.
 */
export const readArrowIpcTable = (bytes: Uint8Array): ReadTable => {
  const table = tableFromIPC(bytes)
  const readers = table.schema.fields.map((field, c) => {
    const vector = table.getChildAt(c)!
    const typeId = field.type.typeId
    if (typeId === Type.Utf8 || typeId === Type.LargeUtf8) {
      return [field.name, (i: number) => vector.get(i) as string | null] as const
    }
    if (typeId === Type.Bool) {
      return [field.name, (i: number) => vector.get(i) as boolean | null] as const
    }
    if (typeId === Type.Float || typeId === Type.Int) {
      return [
        field.name,
        (i: number) => {
          const v = vector.get(i) as number | bigint | null
          return typeof v === "bigint" ? Number(v) : v
        }
      ] as const
    }
    throw new TypeError(
      `table: column ${JSON.stringify(field.name)} has Arrow type ${field.type}, which is not a number, string or boolean`
    )
  })
  const rows: Row[] = []
  for (let i = 0; i < table.numRows; i++) {
    // fromEntries, not assignment, so a column named "__proto__" stays a column.
    rows.push(Object.fromEntries(readers.map(([name, read]) => [name, read(i)])))
  }
  return { columns: readers.map(([name]) => name), rows }
}

/** The rows of `readArrowIpcTable`. */
export const readArrowIpc = (bytes: Uint8Array): Row[] => readArrowIpcTable(bytes).rows

const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value)

/**
 * RFC 4180 CSV with a header line and `\n` line ends. Null is an empty field;
 * an empty string is `""`, so the two stay apart. Numbers use JavaScript's
 * shortest round-tripping form.
 */
export const tableToCsv = (rows: readonly Row[], columns?: readonly string[]): string => {
  const names = columnsOf(rows, columns)
  // Without columns there is no header to write, and rows of nothing are not worth lines.
  if (names.length === 0) return ""
  names.forEach((name) => kindOf(rows, name))
  const lines = [names.map(csvField).join(",")]
  for (const row of rows) {
    lines.push(
      names
        .map((name) => {
          const v = cell(row, name)
          return v === null
            ? ""
            : typeof v === "number" || typeof v === "boolean"
              ? String(v)
              : v === ""
                ? '""'
                : csvField(v)
        })
        .join(",")
    )
  }
  return lines.join("\n") + "\n"
}

export interface MarkdownOptions {
  /** Significant digits for non-integer numbers; default: all (shortest round-tripping form). */
  readonly digits?: number
}

const markdownText = (value: string): string =>
  value
    .replaceAll("\\", "\\\\")
    .replaceAll("|", "\\|")
    .replace(/\r\n|\r|\n/g, "<br>")

/**
 * A GitHub-flavoured Markdown table, cells padded so the raw text lines up;
 * number columns are right-aligned. Null is an empty cell.
 */
export const tableToMarkdown = (
  rows: readonly Row[],
  columns?: readonly string[],
  options: MarkdownOptions = {}
): string => {
  const names = columnsOf(rows, columns)
  if (names.length === 0) return ""
  const kinds = names.map((name) => kindOf(rows, name))
  const formatNumber = (n: number): string =>
    options.digits === undefined || Number.isInteger(n) || !Number.isFinite(n)
      ? String(n)
      : String(Number(n.toPrecision(options.digits)))
  const body = rows.map((row) =>
    names.map((name) => {
      const v = cell(row, name)
      return v === null
        ? ""
        : typeof v === "number"
          ? formatNumber(v)
          : typeof v === "boolean"
            ? String(v)
            : markdownText(v)
    })
  )
  const header = names.map(markdownText)
  // The separator needs at least three dashes.
  const widths = names.map((_, c) => Math.max(3, header[c].length, ...body.map((r) => r[c].length)))
  const line = (cells: readonly string[]) =>
    "| " +
    cells.map((text, c) => (kinds[c] === "number" ? text.padStart(widths[c]) : text.padEnd(widths[c]))).join(" | ") +
    " |"
  const separator =
    "| " + widths.map((w, c) => (kinds[c] === "number" ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ") + " |"
  return [line(header), separator, ...body.map(line)].join("\n") + "\n"
}
