import { it } from "@effect/vitest"
import {
  type Data,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  vectorFromArray
} from "apache-arrow"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect } from "vitest"
import { codeTableToArrowIpc, readVectorFile } from "../../src/data/vector-file.js"

const dir = mkdtempSync(join(tmpdir(), "vector-file-"))

/** An Arrow file with one FixedSizeList column of `dim` values per row (of `element` type) and metadata. */
const vectorFile = (
  name: string,
  values: Float32Array | Float64Array,
  dim: number,
  options: {
    element?: Float32 | Float64
    fieldMeta?: Record<string, string>
    schemaMeta?: Record<string, string>
    column?: string
    extra?: boolean
  } = {}
) => {
  const element = options.element ?? new Float32()
  const type = new FixedSizeList(dim, new Field("item", element, false))
  const rows = values.length / dim
  const fields: Field[] = [
    new Field(options.column ?? "x", type, false, new Map(Object.entries(options.fieldMeta ?? {})))
  ]
  const children: Data[] = [
    makeData({
      type,
      length: rows,
      nullCount: 0,
      child: makeData({ type: element, length: values.length, data: values })
    })
  ]
  if (options.extra) {
    fields.push(new Field("label", new Int32(), false))
    children.push(makeData({ type: new Int32(), length: rows, data: Int32Array.from({ length: rows }, (_, i) => i) }))
  }
  const schema = new Schema(fields, new Map(Object.entries(options.schemaMeta ?? {})))
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children })
  )
  const path = join(dir, name)
  writeFileSync(path, tableToIPC(new Table([batch]), "file"))
  return path
}

describe("vector files", () => {
  it.effect("reads a vector column with its image shape from the field's or the schema's metadata", () =>
    Effect.gen(function* () {
      const values = Float32Array.from({ length: 3 * 6 }, (_, i) => i / 18)
      const f = yield* readVectorFile(
        vectorFile("field.arrow", values, 6, { fieldMeta: { shape: "2,3" }, extra: true })
      )
      expect(f).toMatchObject({ column: "x", rows: 3, dim: 6, height: 2, width: 3 })
      expect(f.x).toEqual(values)
      expect(
        yield* readVectorFile(vectorFile("schema.arrow", values, 6, { schemaMeta: { shape: "3,2" } }))
      ).toMatchObject({ height: 3, width: 2 })
      // No shape: square when it can be, else one row.
      expect(yield* readVectorFile(vectorFile("square.arrow", new Float32Array(2 * 9), 9))).toMatchObject({
        height: 3,
        width: 3
      })
      expect(yield* readVectorFile(vectorFile("flat.arrow", values, 6))).toMatchObject({ height: 1, width: 6 })
      // Float64 vectors are taken, as float32.
      expect(
        (yield* readVectorFile(vectorFile("f64.arrow", Float64Array.from(values), 6, { element: new Float64() }))).x
      ).toEqual(values)
    })
  )

  it.effect("refuses what it cannot train on, naming the file, the column and the fix", () =>
    Effect.gen(function* () {
      const message = (path: string, column?: string) =>
        Effect.flip(readVectorFile(path, column)).pipe(Effect.map((e) => e.message))
      const scalar = join(dir, "scalar.arrow")
      writeFileSync(scalar, tableToIPC(new Table({ x: vectorFromArray([1, 2], new Float64()) }), "file"))
      expect(yield* message(scalar)).toBe(
        `vector file ${scalar}: it has no FixedSizeList column (its columns: x: Float64); it needs a FixedSizeList<Float32>[d] column (pyarrow: pa.list_(pa.float32(), d)) with one vector per row`
      )
      expect(yield* message(scalar, "x")).toContain(`column "x" is Float64, not a FixedSizeList<Float32>[d] column`)
      const ok = vectorFile("ok.arrow", new Float32Array(4), 2, { extra: true })
      expect(yield* message(ok, "pixels")).toBe(
        `vector file ${ok}: it has no column "pixels" (its columns: x, label); pass --column with one of them`
      )
      const nan = new Float32Array(6)
      nan[4] = NaN
      const withNan = vectorFile("nan.arrow", nan, 2)
      expect(yield* message(withNan)).toBe(
        `vector file ${withNan}: row 2 of column "x" holds NaN at position 0; every value must be a finite number (drop or repair that row)`
      )
      const badShape = vectorFile("shape.arrow", new Float32Array(6), 6, { fieldMeta: { shape: "2,2" } })
      expect(yield* message(badShape)).toContain(
        `gives shape "2,2", which is not "height,width" with height × width = 6`
      )
      const notArrow = join(dir, "text.arrow")
      writeFileSync(notArrow, "a,b\n1,2\n")
      expect(yield* message(notArrow)).toContain("it is not an Arrow IPC file")
    })
  )

  it("writes codes as a FixedSizeList<Float32> column beside the names of their rows", () => {
    const codes = Float32Array.from({ length: 6 }, (_, i) => i)
    const table = tableFromIPC(
      codeTableToArrowIpc(codes, 3, { kind: "source", names: ["a.png", "b.png"] }, { model: "vdl" })
    )
    expect(String(table.schema.fields[0].type)).toBe("FixedSizeList[3]<Float32>")
    expect(table.schema.metadata.get("model")).toBe("vdl")
    expect(table.getChild("source")?.toArray()).toEqual(["a.png", "b.png"])
    expect(Array.from(table.getChild("code")!.get(1)!)).toEqual([3, 4, 5])
    const byRow = tableFromIPC(codeTableToArrowIpc(codes, 2, { kind: "row", indices: Int32Array.from([0, 1, 2]) }))
    expect(Array.from(byRow.getChild("row")!.toArray())).toEqual([0, 1, 2])
  })
})
