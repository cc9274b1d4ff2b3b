/**
 * Rows as a user has them: one flat Float32Array (row-major), an array of arrays of numbers, or
 * an Arrow table with one vector column; all become one flat Float32Array and a width.
 */
import type { Table } from "apache-arrow"
import { Effect } from "effect"
import { readVectorTable } from "../../data/vector-file.js"
import type { InputProblem } from "../sources/checks.js"

/** What fit and a model's methods take. */
export type Rows = Float32Array | ReadonlyArray<ReadonlyArray<number>> | Table

export interface FlatRows {
  readonly x: Float32Array
  readonly rows: number
  readonly dim: number
  /** The image shape when the input says it (an Arrow column's `shape` metadata). */
  readonly shape?: { readonly height: number; readonly width: number }
}

const isTable = (rows: Rows): rows is Table =>
  !(rows instanceof Float32Array) && !Array.isArray(rows) && typeof (rows as Table).getChild === "function"

/**
 * The rows as one flat array of `dim` values each. A Float32Array needs `dim` (there is nothing
 * else to cut it by); an array of arrays and a table give their own, which must agree with `dim`
 * when it is given.
 */
export const flatRows = (rows: Rows, dim: number | undefined, what: string): Effect.Effect<FlatRows, InputProblem> =>
  Effect.gen(function* () {
    const fail = (problem: string, option?: string) =>
      Effect.fail<InputProblem>(option === undefined ? { problem } : { problem, option })
    if (rows instanceof Float32Array) {
      if (dim === undefined)
        return yield* fail(
          `${what} are a flat Float32Array, which does not say how long a row is; give the width (values per row) or the image shape`,
          "shape"
        )
      if (rows.length === 0 || rows.length % dim !== 0)
        return yield* fail(
          `${rows.length} values are not a whole, non-zero number of rows of ${dim}; pass rows × ${dim} values, row after row`
        )
      return { x: rows, rows: rows.length / dim, dim }
    }
    if (Array.isArray(rows)) {
      const list = rows as ReadonlyArray<ReadonlyArray<number>>
      const first = list[0]
      if (first === undefined) return yield* fail(`${what} are an empty array; pass at least one row`)
      const width = dim ?? first.length
      if (width === 0) return yield* fail(`row 0 of ${what} is empty; every row needs at least one value`)
      const x = new Float32Array(list.length * width)
      for (const [r, row] of list.entries()) {
        if (!Array.isArray(row) && !ArrayBuffer.isView(row))
          return yield* fail(`row ${r} of ${what} is not an array of numbers; pass one array per row`)
        if (row.length !== width)
          return yield* fail(
            `row ${r} of ${what} has ${row.length} values but ${dim === undefined ? "row 0 has" : "the model takes"} ${width}; give every row the same width`
          )
        x.set(row, r * width)
      }
      return { x, rows: list.length, dim: width }
    }
    if (isTable(rows)) {
      const file = yield* readVectorTable(rows, `(${what}: an Arrow table)`).pipe(
        Effect.mapError((e): InputProblem => ({ problem: e.message }))
      )
      if (dim !== undefined && file.dim !== dim)
        return yield* fail(
          `the table's vectors have ${file.dim} values but the model takes ${dim}; pass rows of ${dim} values`
        )
      if (file.rows === 0) return yield* fail(`the table has no rows; pass at least one`)
      return { x: file.x, rows: file.rows, dim: file.dim, shape: { height: file.height, width: file.width } }
    }
    return yield* fail(`${what} are neither a Float32Array, an array of rows nor an Arrow table; pass one of those`)
  })
