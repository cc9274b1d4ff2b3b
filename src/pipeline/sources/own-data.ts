/**
 * Data of one's own as Datasets: rows of pixels (an Arrow file's vector column, a folder of
 * images) split by a seeded permutation into train, validation and test, and normalised with
 * statistics of the training rows, recorded so that the run's checkpoints carry them.
 */
import { Effect } from "effect"
import { type ImageShape, readImagesOfOneSize } from "../../data/image-rows.js"
import { type ImageReadError, listImages } from "../../data/images.js"
import { readVectorFile, type VectorFileError } from "../../data/vector-file.js"
import { gatherRows } from "../../models/gather-rows.js"
import { nonFiniteProblem, pixelRangeProblem } from "./checks.js"
import type { Dataset, Splits } from "./dataset.js"
import { pixelsToInputSpace, type RowFreeNormalization, rowFreeToPixels } from "./normalization.js"
import { rngFor } from "../train/seeds.js"
import { OwnDataError } from "./own-data-error.js"

export { OwnDataError } from "./own-data-error.js"

/** Rows of pixels (0..1 for PSNR to mean what it says) of height × width images, and where they came from. */
export interface PixelRows {
  /** A short description for logs and the run's summary. */
  readonly source: string
  readonly x: Float32Array
  readonly rows: number
  readonly height: number
  readonly width: number
  /** One class label per row, kept with its row through the split; none: unlabelled. */
  readonly labels?: Uint8Array
}

import type { NormalizationMode } from "../choices.js"

export interface OwnSplitOptions {
  readonly seed: number
  /** Shares of the rows held out for validation and test; the rest trains. */
  readonly valFraction: number
  readonly testFraction: number
  /**
   * "global": (p − mean)/std with the mean and std of every training value; "per-feature": each
   * input value with its own (a value constant on the training rows is only centred); "none".
   */
  readonly normalize: NormalizationMode
}

/** A feature whose training std is below this is only centred: dividing by it would blow up the other splits. */
const FLAT_FEATURE_STD = 1e-3

/** The normalisation's statistics, from the training rows only. */
const fitNormalization = (
  mode: NormalizationMode,
  x: Float32Array,
  dim: number,
  source: string
): Effect.Effect<RowFreeNormalization, OwnDataError> => {
  if (mode === "none") return Effect.succeed({ kind: "none" })
  const rows = x.length / dim
  if (mode === "global") {
    let sum = 0
    for (let i = 0; i < x.length; i++) sum += x[i]
    const mean = sum / x.length
    let sq = 0
    for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2
    const std = Math.sqrt(sq / x.length)
    return std > 0
      ? Effect.succeed({ kind: "global", mean, std })
      : Effect.fail(
          new OwnDataError({
            source,
            problem: `every training value is ${mean}: there is nothing to learn. Check the data`
          })
        )
  }
  const mean = new Float64Array(dim)
  const sq = new Float64Array(dim)
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += x[r * dim + j] / rows
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) sq[j] += (x[r * dim + j] - mean[j]) ** 2
  const std = Array.from(sq, (s) => {
    const v = Math.sqrt(s / rows)
    return v < FLAT_FEATURE_STD ? 1 : v
  })
  return Effect.succeed({ kind: "per-feature", mean: Array.from(mean), std })
}

/**
 * Train, validation and test splits of pixel rows: a seeded permutation (the run's seed, its
 * "split" stream) sends round(rows·testFraction) rows to test, round(rows·valFraction) to
 * validation and the rest to train; each split must get at least one row.
 */
export const ownDataSplits = (
  data: PixelRows,
  options: OwnSplitOptions
): Effect.Effect<Splits<Dataset>, OwnDataError> =>
  Effect.gen(function* () {
    const dim = data.height * data.width
    const fail = (problem: string, fields?: ReadonlyArray<string>) =>
      Effect.fail(new OwnDataError({ source: data.source, problem, fields }))
    if (data.x.length !== data.rows * dim)
      return yield* fail(`${data.x.length} values are not ${data.rows} rows of ${data.height}×${data.width}`)
    const nonFinite = nonFiniteProblem(data.x, dim, "the rows")
    if (nonFinite !== null) return yield* fail(nonFinite.problem)
    const outside =
      options.normalize === "none"
        ? pixelRangeProblem(data.x, dim, "the rows", 'normalise them (normalize "global" or "per-feature")')
        : null
    if (outside !== null) return yield* fail(outside.problem, ["normalize"])
    for (const [name, f] of [
      ["validation", options.valFraction],
      ["test", options.testFraction]
    ] as const) {
      if (!(f > 0 && f < 1))
        return yield* fail(
          `the ${name} fraction ${f} is not between 0 and 1 (exclusive); set ${name === "validation" ? "valFraction" : "testFraction"} to 0.1, say`,
          [name === "validation" ? "valFraction" : "testFraction"]
        )
    }
    const test = Math.round(data.rows * options.testFraction)
    const val = Math.round(data.rows * options.valFraction)
    const train = data.rows - test - val
    if (test < 1 || val < 1 || train < 1) {
      return yield* fail(
        `${data.rows} rows split as ${train} train / ${val} validation / ${test} test leave a split empty; use more rows or other valFraction and testFraction`,
        ["valFraction", "testFraction"]
      )
    }
    const order = rngFor(options.seed, "split").permutation(data.rows)
    const parts = { train: order.slice(0, train), val: order.slice(train, train + val), test: order.slice(train + val) }
    const trainX = gatherRows(data.x, dim, parts.train)
    const normalization = yield* fitNormalization(options.normalize, trainX, dim, data.source)
    const toPixels = rowFreeToPixels(normalization)
    const space = { height: data.height, width: data.width, normalization }
    const dataset = (name: keyof typeof parts, x: Float32Array): Dataset => ({
      name,
      x: pixelsToInputSpace(space, x, parts[name].length).x,
      rows: parts[name].length,
      dim,
      height: data.height,
      width: data.width,
      labels: data.labels === undefined ? null : Uint8Array.from(parts[name], (i) => data.labels![i]),
      toPixels: (values) => toPixels(values),
      normalization
    })
    return {
      train: dataset("train", trainX),
      val: dataset("val", gatherRows(data.x, dim, parts.val)),
      test: dataset("test", gatherRows(data.x, dim, parts.test))
    }
  })

/** The vectors of an Arrow file's column as pixel rows (their image shape from the file's metadata). */
export const arrowRows = (path: string, column?: string): Effect.Effect<PixelRows, VectorFileError> =>
  readVectorFile(path, column).pipe(
    Effect.map((f) => ({
      source: `${path} (column ${f.column})`,
      x: f.x,
      rows: f.rows,
      height: f.height,
      width: f.width
    }))
  )

/**
 * The JPEG and PNG images of a folder as grey pixel rows: each resized to cover `size` and
 * centre-cropped when it is given; otherwise every image must have the first one's size.
 */
export const imageFolderRows = (
  dir: string,
  size?: ImageShape
): Effect.Effect<PixelRows, ImageReadError | OwnDataError> =>
  Effect.gen(function* () {
    const paths = yield* listImages(dir)
    const { x, height, width } = yield* readImagesOfOneSize(
      paths,
      size,
      (image, first) =>
        new OwnDataError({
          source: dir,
          problem: `${image.path} is ${image.width}×${image.height} but ${first.path} is ${first.width}×${first.height}; every image must have one size, or pass --size N to resize them all to N×N`
        })
    )
    return { source: `images in ${dir}`, x, rows: paths.length, height, width }
  })
