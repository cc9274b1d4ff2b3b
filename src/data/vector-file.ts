/**
 * Arrow IPC files of vectors, one row per vector in a FixedSizeList<Float32>[d] column: data of
 * one's own to train on or encode (with an optional image shape, "28,28", as `shape` in the
 * column's or the schema's metadata), and the codes a model writes.
 */
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Type,
  Utf8,
  vectorFromArray
} from "apache-arrow"
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"

/** A vector file that cannot be used: missing, not Arrow, or without a usable vector column. */
export class VectorFileError extends Data.TaggedError("VectorFileError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `vector file ${this.file}: ${this.problem}`
  }
}

export interface VectorFile {
  readonly path: string
  readonly column: string
  readonly rows: number
  readonly dim: number
  /** From the `shape` metadata; else the square root of dim when it is whole, else 1 × dim. */
  readonly height: number
  readonly width: number
  /** rows × dim values, row-major. */
  readonly x: Float32Array
}

const WANTED = "a FixedSizeList<Float32>[d] column (pyarrow: pa.list_(pa.float32(), d)) with one vector per row"

const shapeOf = (raw: string | undefined, dim: number, where: string): { height: number; width: number } | string => {
  if (raw === undefined) {
    const side = Math.round(Math.sqrt(dim))
    return side * side === dim ? { height: side, width: side } : { height: 1, width: dim }
  }
  const parts = raw.split(",").map((p) => Number(p.trim()))
  if (parts.length !== 2 || !parts.every((p) => Number.isInteger(p) && p > 0) || parts[0] * parts[1] !== dim) {
    return `its ${where} metadata gives shape ${JSON.stringify(raw)}, which is not "height,width" with height × width = ${dim}; fix or remove it`
  }
  return { height: parts[0], width: parts[1] }
}

/** Reads the vectors of one column (`column`, or the file's only FixedSizeList column), refusing nulls, NaN and infinities. */
export const readVectorFile = (path: string, column?: string): Effect.Effect<VectorFile, VectorFileError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (e) =>
        new VectorFileError({
          file: path,
          problem: `it cannot be read (${(e as { code?: unknown }).code === "ENOENT" ? "it does not exist" : e instanceof Error ? e.message : String(e)}); pass an Arrow IPC file`
        })
    })
    const table = yield* Effect.try({
      try: () => tableFromIPC(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      catch: (e) =>
        new VectorFileError({
          file: path,
          problem: `it is not an Arrow IPC file (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); write one with pyarrow.ipc.new_file or tableToIPC`
        })
    })
    return yield* readVectorTable(table, path, column)
  })

/** The vectors of one column of an Arrow table in memory, checked as readVectorFile checks a file's; `path` names it in messages. */
export const readVectorTable = (
  table: Table,
  path: string,
  column?: string
): Effect.Effect<VectorFile, VectorFileError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new VectorFileError({ file: path, problem }))
    const fields = table.schema.fields
    const lists = fields.filter((f) => f.type.typeId === Type.FixedSizeList)
    const field = column === undefined ? lists[0] : fields.find((f) => f.name === column)
    if (field === undefined) {
      return yield* column === undefined
        ? fail(
            `it has no FixedSizeList column (its columns: ${fields.map((f) => `${f.name}: ${f.type}`).join(", ") || "none"}); it needs ${WANTED}`
          )
        : fail(
            `it has no column ${JSON.stringify(column)} (its columns: ${fields.map((f) => f.name).join(", ") || "none"}); pass --column with one of them`
          )
    }
    if (column === undefined && lists.length > 1) {
      return yield* fail(
        `it has several vector columns (${lists.map((f) => f.name).join(", ")}); pass --column with the one to use`
      )
    }
    const type = field.type as FixedSizeList
    const element = type.typeId === Type.FixedSizeList ? type.children[0].type : null
    if (element === null || element.typeId !== Type.Float || (element as Float32).precision === 0) {
      return yield* fail(
        `column ${JSON.stringify(field.name)} is ${field.type}, not ${WANTED}. Convert it, e.g. in pyarrow: table.set_column(i, name, table[name].cast(pa.list_(pa.float32(), d)))`
      )
    }
    const dim = type.listSize
    if (dim === 0)
      return yield* fail(`column ${JSON.stringify(field.name)} holds vectors of length 0; it needs ${WANTED}`)
    const shape = shapeOf(
      field.metadata.get("shape") ?? table.schema.metadata.get("shape"),
      dim,
      field.metadata.has("shape") ? `column ${JSON.stringify(field.name)}'s` : "schema's"
    )
    if (typeof shape === "string") return yield* fail(shape)
    const vectors = table.getChild(field.name)!
    if (vectors.nullCount > 0)
      return yield* fail(
        `column ${JSON.stringify(field.name)} has ${vectors.nullCount} empty (null) rows; drop them or fill them in`
      )
    const rows = table.numRows
    const x = new Float32Array(rows * dim)
    let at = 0
    for (const data of vectors.data) {
      const child = data.children[0]
      const start = child.offset + data.offset * dim
      const values = child.values as Float32Array | Float64Array
      if (child.nullCount > 0)
        return yield* fail(`column ${JSON.stringify(field.name)} has null entries inside its vectors; fill them in`)
      x.set(values.subarray(start, start + data.length * dim), at)
      at += data.length * dim
    }
    const bad = x.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) {
      return yield* fail(
        `row ${Math.floor(bad / dim)} of column ${JSON.stringify(field.name)} holds ${x[bad]} at position ${bad % dim}; every value must be a finite number (drop or repair that row)`
      )
    }
    return { path, column: field.name, rows, dim, height: shape.height, width: shape.width, x }
  })

/** What names each row of a code table: the image it came from, or its row in the input. */
export type RowNames =
  | { readonly kind: "source"; readonly names: ReadonlyArray<string> }
  | { readonly kind: "row"; readonly indices: Int32Array }

/**
 * Arrow IPC file bytes of codes: a `code` column FixedSizeList<Float32>[codeDim], then `source`
 * (Utf8) or `row` (Int32), with `metadata` as schema metadata.
 */
export const codeTableToArrowIpc = (
  codes: Float32Array,
  codeDim: number,
  names: RowNames,
  metadata: Readonly<Record<string, string>> = {}
): Uint8Array => {
  const rows = codes.length / codeDim
  const listType = new FixedSizeList(codeDim, new Field("item", new Float32(), false))
  const nameField =
    names.kind === "source" ? new Field("source", new Utf8(), false) : new Field("row", new Int32(), false)
  const schema = new Schema([new Field("code", listType, false), nameField], new Map(Object.entries(metadata)))
  const code = makeData({
    type: listType,
    length: rows,
    nullCount: 0,
    child: makeData({ type: new Float32(), length: codes.length, data: codes })
  })
  const label =
    names.kind === "source"
      ? vectorFromArray(names.names as string[], new Utf8()).data[0]
      : makeData({ type: new Int32(), length: rows, data: names.indices })
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [code, label] })
  )
  return tableToIPC(new Table([batch]), "file")
}
