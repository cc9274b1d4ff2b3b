/**
 * Data sets whatever their source: rows of the model's input space with the map back to pixels,
 * train/validation/test splits of them, and mini-batches drawn from them.
 */
import type * as tf from "@tensorflow/tfjs-core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Rng } from "../../data/random.js"
import { gatherRows, gatherRowsInto } from "../../models/gather-rows.js"
import { InputError, nonFiniteProblem, pixelRangeProblem } from "./checks.js"
import type { InputSpace, Normalization } from "./normalization.js"

/**
 * A data set ready for the model: rows of the model's input space, and the map back to pixels
 * in [0, 1] that PSNR and pictures need (for MNIST an affine map; for LCN patches it depends on
 * each row's stored local mean and scale, hence the row indices).
 */
export interface Dataset {
  readonly name: string
  /**
   * rows × dim values, row-major. A data set kept compactly (datasetFromGather: MNIST as bytes)
   * builds it on first read and keeps it; batches never read it (see rowsAt).
   */
  readonly x: Float32Array
  readonly rows: number
  readonly dim: number
  readonly height: number
  readonly width: number
  readonly labels: Uint8Array | null
  readonly toPixels: (x: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D
  /**
   * Where toPixels is one affine map for every entry (pixels = scale·x + offset), its scale: a
   * difference of rows is then scale times theirs in pixels, and training reads its PSNR off the
   * energy's residual instead of mapping both to pixels every batch. Absent: toPixels is used.
   */
  readonly pixelScale?: number
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
 * the mismatch when the array, the shape or the labels do not fit together, and an InputError
 * for a NaN or an infinity, or for values outside [0, 1] when neither toPixels nor a
 * normalisation says the rows are anything but pixels.
 */
export const datasetFromRows = (x: Float32Array, dim: number, options: RowsOptions = {}): Dataset => {
  const name = options.name ?? "rows"
  if (!(Number.isInteger(dim) && dim > 0))
    throw new RangeError(
      `datasetFromRows(${name}): dim ${dim} is not a positive whole number; pass the number of values per row`
    )
  if (x.length === 0 || x.length % dim !== 0) {
    throw new RangeError(
      `datasetFromRows(${name}): ${x.length} values are not a whole, non-zero number of rows of ${dim}; pass rows × dim values, row after row`
    )
  }
  const rows = x.length / dim
  const side = Math.round(Math.sqrt(dim))
  const height = options.height ?? (side * side === dim ? side : 1)
  const width = options.width ?? dim / height
  if (height * width !== dim)
    throw new RangeError(
      `datasetFromRows(${name}): an image of ${height} × ${width} pixels does not hold ${dim} values; give height and width whose product is dim`
    )
  const labels = options.labels ?? null
  if (labels !== null && labels.length !== rows)
    throw new RangeError(`datasetFromRows(${name}): ${labels.length} labels for ${rows} rows; give one label per row`)
  const normalization =
    options.normalization ?? (options.toPixels === undefined ? ({ kind: "none" } as const) : undefined)
  const problem =
    nonFiniteProblem(x, dim, "the rows") ??
    (options.toPixels === undefined && normalization?.kind === "none"
      ? pixelRangeProblem(x, dim, "the rows", "pass toPixels and normalization for rows of another scale")
      : null)
  if (problem !== null) throw new InputError({ entry: `datasetFromRows(${name})`, ...problem })
  return {
    name,
    x,
    rows,
    dim,
    height,
    width,
    labels,
    toPixels: options.toPixels ?? ((t) => t.clone()),
    ...(options.toPixels === undefined ? { pixelScale: 1 } : {}),
    ...(normalization === undefined ? {} : { normalization })
  }
}

/**
 * Rows kept in some compact form (MNIST's pixel bytes, say) and turned into the model's input
 * space only when asked: the rows `indices`, row-major, indices.length × dim values. With `out`
 * (long enough) a gather may write them there and answer the filled part of it, and training
 * hands the same buffer to every batch; without it, or ignoring it, a fresh array.
 */
export type GatherRows = (indices: Int32Array, out?: Float32Array) => Float32Array

const GATHER = Symbol("gather rows")
const ORDER = Symbol("epoch order")

/**
 * A training epoch's order of the first `rows` rows: a permutation of 0..rows-1 drawn from rng,
 * all of it at once (so that a resumed epoch, which redraws it from the same state, gets the same
 * order and leaves the generator where the whole epoch would have).
 */
export type EpochOrder = (rows: number, rng: Rng) => Int32Array

/**
 * A data set whose rows are made on demand by `gather` (for each batch) instead of held as one
 * Float32Array: its `x` is built from gather on first read and then kept, for the consumers that
 * want every row at once. `gather` is a hidden property, so a spread copy ({ ...ds, x }) is an
 * ordinary data set of the x it is given (and spreading reads x, building it).
 */
export const datasetFromGather = (fields: Omit<Dataset, "x">, gather: GatherRows, order?: EpochOrder): Dataset => {
  let x: Float32Array | undefined
  const ds = { ...fields } as Dataset
  Object.defineProperty(ds, "x", {
    enumerable: true,
    get: () => (x ??= gather(Int32Array.from({ length: fields.rows }, (_, i) => i)))
  })
  Object.defineProperty(ds, GATHER, { enumerable: false, value: gather })
  if (order !== undefined) Object.defineProperty(ds, ORDER, { enumerable: false, value: order })
  return ds
}

/**
 * A training epoch's order of a data set's rows: a uniformly random permutation of all of them
 * (rng.permutation), or, for a data set that says otherwise (a patch file read from disk, whose
 * order keeps reads local), its own seeded permutation.
 */
export const epochOrder = (ds: Dataset, rng: Rng): Int32Array => {
  const order = (ds as { [ORDER]?: EpochOrder })[ORDER]
  return order !== undefined ? order(ds.rows, rng) : Int32Array.from(rng.permutation(ds.rows))
}

/**
 * The rows `indices` of a data set in its input space: from its gather when it has one, else
 * copied from x; into `out` where given (and the gather uses it), else a fresh array.
 */
export const rowsAt = (ds: Dataset, indices: Int32Array, out?: Float32Array): Float32Array => {
  const gather = (ds as { [GATHER]?: GatherRows })[GATHER]
  if (gather !== undefined) return gather(indices, out)
  return out === undefined ? gatherRows(ds.x, ds.dim, indices) : gatherRowsInto(ds.x, ds.dim, indices, out)
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
export const firstRows = (ds: Dataset, rows: number | undefined): Dataset => {
  if (rows === undefined || rows >= ds.rows) return ds
  const labels = ds.labels === null ? null : ds.labels.subarray(0, rows)
  const gather = (ds as { [GATHER]?: GatherRows })[GATHER]
  if (gather === undefined) return { ...ds, rows, x: ds.x.subarray(0, rows * ds.dim), labels }
  // Every field but x, read without building x: the first rows gather from the same rows.
  const fields = Object.fromEntries(
    Object.keys(ds)
      .filter((k) => k !== "x")
      .map((k) => [k, ds[k as keyof Dataset]])
  ) as unknown as Omit<Dataset, "x">
  return datasetFromGather({ ...fields, rows, labels }, gather, (ds as { [ORDER]?: EpochOrder })[ORDER])
}

/**
 * Mini-batches as a stream: in a fresh seeded order, the last partial batch dropped (as in
 * training), or in file order with the last partial batch kept (as in evaluation). With `reuse`,
 * every batch's x may be written into one buffer of the stream's own, so a batch must be used
 * before the next is pulled (as a training epoch does): no fresh array per batch for the
 * garbage collector.
 */
export const batchStream = (
  ds: Dataset,
  batchSize: number,
  order: { readonly kind: "shuffled"; readonly rng: Rng } | { readonly kind: "sequential" },
  { reuse = false }: { readonly reuse?: boolean } = {}
): Stream.Stream<Batch> => {
  const count = order.kind === "shuffled" ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)
  return Stream.suspend(() => {
    const perm = order.kind === "shuffled" ? epochOrder(ds, order.rng) : null
    const buffer = reuse ? new Float32Array(Math.min(batchSize, ds.rows) * ds.dim) : undefined
    return Stream.unfoldChunk(0, (b) => {
      if (b >= count) return Option.none()
      const start = b * batchSize
      const end = Math.min(start + batchSize, ds.rows)
      const indices =
        perm !== null ? perm.subarray(start, end) : Int32Array.from({ length: end - start }, (_, i) => start + i)
      return Option.some([Chunk.of({ x: rowsAt(ds, indices, buffer), indices, rows: indices.length }), b + 1] as const)
    })
  })
}

export const batchCount = (ds: Dataset, batchSize: number, shuffled: boolean): number =>
  shuffled ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)

export const dataSummary = (s: Splits<Dataset>) =>
  Effect.logInfo(`data: ${s.train.rows} train / ${s.val.rows} val / ${s.test.rows} test rows of ${s.train.dim} values`)
