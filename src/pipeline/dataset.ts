/**
 * Data sets whatever their source: rows of the model's input space with the map back to pixels,
 * train/validation/test splits of them, and mini-batches drawn from them.
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Chunk, Effect, Option, Stream } from "effect"
import type { Rng } from "../data/random.js"
import { gatherRows } from "../models/gather-rows.js"
import type { InputSpace, Normalization } from "./normalization.js"

/**
 * A data set ready for the model: rows of the model's input space, and the map back to pixels
 * in [0, 1] that PSNR and pictures need (for MNIST an affine map; for LCN patches it depends on
 * each row's stored local mean and scale, hence the row indices).
 */
export interface Dataset {
  readonly name: string
  readonly x: Float32Array
  readonly rows: number
  readonly dim: number
  readonly height: number
  readonly width: number
  readonly labels: Uint8Array | null
  readonly toPixels: (x: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D
  /**
   * What toPixels undoes, as data: a run records it in its checkpoints so that a loaded model
   * normalises new images the same way. A data set without it trains, but its checkpoints say
   * nothing about their inputs, and a loaded model must then be told (loadModel's `input`).
   */
  readonly normalization?: Normalization
}

/** The input space a data set's checkpoints record, when it knows its normalisation. */
export const inputSpaceOf = (ds: Dataset): InputSpace | undefined =>
  ds.normalization === undefined ? undefined : { height: ds.height, width: ds.width, normalization: ds.normalization }

/** How rows of one's own become a Dataset; every field has a default. */
export interface RowsOptions {
  /** Shown in logs and messages; default "rows". */
  readonly name?: string
  /** Image shape for pictures; default a square when dim is a square number, else one row of dim pixels. */
  readonly height?: number
  readonly width?: number
  /** One class label per row, for classification; default none. */
  readonly labels?: Uint8Array
  /** The map from the rows to pixels in [0, 1] that PSNR and pictures use; default: the rows are pixels already. */
  readonly toPixels?: (x: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D
  /** How the rows were made from pixels, recorded in checkpoints; default none when toPixels is not given, else unrecorded. */
  readonly normalization?: Normalization
}

/**
 * A data set from a flat array of rows (row-major, `dim` values each). Throws a RangeError naming
 * the mismatch when the array, the shape or the labels do not fit together.
 */
export const datasetFromRows = (x: Float32Array, dim: number, options: RowsOptions = {}): Dataset => {
  const name = options.name ?? "rows"
  if (!(Number.isInteger(dim) && dim > 0)) throw new RangeError(`datasetFromRows(${name}): dim ${dim} is not a positive whole number; pass the number of values per row`)
  if (x.length === 0 || x.length % dim !== 0) {
    throw new RangeError(`datasetFromRows(${name}): ${x.length} values are not a whole, non-zero number of rows of ${dim}; pass rows × dim values, row after row`)
  }
  const rows = x.length / dim
  const side = Math.round(Math.sqrt(dim))
  const height = options.height ?? (side * side === dim ? side : 1)
  const width = options.width ?? dim / height
  if (height * width !== dim) throw new RangeError(`datasetFromRows(${name}): an image of ${height} × ${width} pixels does not hold ${dim} values; give height and width whose product is dim`)
  const labels = options.labels ?? null
  if (labels !== null && labels.length !== rows) throw new RangeError(`datasetFromRows(${name}): ${labels.length} labels for ${rows} rows; give one label per row`)
  const normalization = options.normalization ?? (options.toPixels === undefined ? ({ kind: "none" } as const) : undefined)
  return { name, x, rows, dim, height, width, labels, toPixels: options.toPixels ?? ((t) => t.clone()), ...(normalization === undefined ? {} : { normalization }) }
}

export interface Batch {
  readonly x: Float32Array
  readonly indices: Int32Array
  readonly rows: number
}

export interface Splits<A> {
  readonly train: A
  readonly val: A
  readonly test: A
}

export const mapSplits = <A, B>(s: Splits<A>, f: (a: A, name: keyof Splits<A>) => B): Splits<B> => ({
  train: f(s.train, "train"),
  val: f(s.val, "val"),
  test: f(s.test, "test")
})

/** The first `rows` rows of a data set (all of them when rows is undefined or larger). */
export const firstRows = (ds: Dataset, rows: number | undefined): Dataset =>
  rows === undefined || rows >= ds.rows
    ? ds
    : { ...ds, rows, x: ds.x.subarray(0, rows * ds.dim), labels: ds.labels === null ? null : ds.labels.subarray(0, rows) }

/**
 * Mini-batches as a stream: in a fresh seeded order, the last partial batch dropped (as in
 * training), or in file order with the last partial batch kept (as in evaluation).
 */
export const batchStream = (
  ds: Dataset,
  batchSize: number,
  order: { readonly kind: "shuffled"; readonly rng: Rng } | { readonly kind: "sequential" }
): Stream.Stream<Batch> => {
  const count = order.kind === "shuffled" ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)
  return Stream.suspend(() => {
    const perm = order.kind === "shuffled" ? Int32Array.from(order.rng.permutation(ds.rows)) : null
    return Stream.unfoldChunk(0, (b) => {
      if (b >= count) return Option.none()
      const start = b * batchSize
      const end = Math.min(start + batchSize, ds.rows)
      const indices = perm !== null ? perm.subarray(start, end) : Int32Array.from({ length: end - start }, (_, i) => start + i)
      return Option.some([Chunk.of({ x: gatherRows(ds.x, ds.dim, indices), indices, rows: indices.length }), b + 1] as const)
    })
  })
}

export const batchCount = (ds: Dataset, batchSize: number, shuffled: boolean): number =>
  shuffled ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)

export const dataSummary = (s: Splits<Dataset>) => Effect.logInfo(`data: ${s.train.rows} train / ${s.val.rows} val / ${s.test.rows} test rows of ${s.train.dim} values`)
