/**
 * The map from pixels (0..1, as a person has them) to a model's input space, described as data so
 * that a checkpoint can carry it and a loaded model can apply it to new images and undo it on its
 * reconstructions.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { gatherRows } from "../../models/gather-rows.js"
import { CROP_SIZE, lcnPatchSize, lcnToPixels, makeLcn, MIN_CROP_SIZE } from "../../models/lcn.js"
import { affineToPixels } from "../../models/metrics.js"

/**
 * How pixels p become model inputs x:
 * - "none": x = p.
 * - "global": x = (p − mean) / std, one mean and std for every value (MNIST: 0.1307, 0.3081).
 * - "per-feature": x_j = (p_j − mean_j) / std_j, one pair per input value.
 * - "lcn": local contrast normalisation of natural-image patches (src/models/lcn.ts): a crop of
 *   `crop`×`crop` pixels gives a `patch`×`patch` input; low local scales are raised to
 *   `scaleReference` (null: each crop's own mean scale). Its inverse needs each row's local mean
 *   and scale, so reconstructions come back as the patch's pixels, the centre of the crop.
 */
export const Normalization = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("none") }),
  Schema.Struct({
    kind: Schema.Literal("global"),
    mean: Schema.Number.pipe(Schema.finite()),
    std: Schema.Number.pipe(Schema.finite(), Schema.positive())
  }),
  Schema.Struct({
    kind: Schema.Literal("per-feature"),
    mean: Schema.Array(Schema.Number.pipe(Schema.finite())),
    std: Schema.Array(Schema.Number.pipe(Schema.finite(), Schema.positive()))
  }),
  // The crop is any side the LCN can take (the paper's 52 gives 28); its patch follows from it.
  Schema.Struct({
    kind: Schema.Literal("lcn"),
    crop: Schema.Int.pipe(Schema.greaterThanOrEqualTo(MIN_CROP_SIZE)),
    patch: Schema.Int.pipe(Schema.positive()),
    scaleReference: Schema.NullOr(Schema.Number.pipe(Schema.finite(), Schema.positive()))
  }).pipe(
    Schema.filter(
      (n) =>
        n.patch === lcnPatchSize(n.crop) ||
        `a crop of ${n.crop} gives an LCN patch of ${lcnPatchSize(n.crop)}, not ${n.patch}`
    )
  )
)
export type Normalization = typeof Normalization.Type

/** What a model's input rows are: images of height × width values after `normalization`. */
export const InputSpace = Schema.Struct({
  height: Schema.Int.pipe(Schema.positive()),
  width: Schema.Int.pipe(Schema.positive()),
  normalization: Normalization
})
export type InputSpace = typeof InputSpace.Type

/** How an input space disagrees with a model's input size, as the end of a sentence about it, or null when it fits. */
export const inputSpaceProblem = (space: InputSpace, inputDim: number): string | null => {
  const n = space.normalization
  if (space.height * space.width !== inputDim)
    return `describes ${space.height}×${space.width} images, but the model takes ${inputDim} values`
  if (n.kind === "lcn" && n.patch * n.patch !== inputDim)
    return `describes ${n.patch}×${n.patch} LCN patches, but the model takes ${inputDim} values`
  if (n.kind === "per-feature" && (n.mean.length !== inputDim || n.std.length !== inputDim))
    return `has ${n.mean.length} means and ${n.std.length} standard deviations for ${inputDim} inputs`
  return null
}

export const lcnNormalization = (scaleReference: number | null, crop: number = CROP_SIZE): Normalization => ({
  kind: "lcn",
  crop,
  patch: lcnPatchSize(crop),
  scaleReference
})

/**
 * The LCN a patch file was built with, from its metadata (`preprocessing.scaleFloor`: one
 * data-wide level, or each crop's own mean), or null when the metadata does not say.
 */
export const lcnOfPatchMetadata = (metadata: Readonly<Record<string, unknown>>): Normalization | null => {
  try {
    const raw = metadata.preprocessing
    const pre = (typeof raw === "string" ? JSON.parse(raw) : raw) as
      | { scaleFloor?: { mode?: unknown; level?: unknown }; crop?: unknown }
      | undefined
    const floor = pre?.scaleFloor
    // Files built before the crop was recorded used the paper's.
    const crop = pre?.crop === undefined ? CROP_SIZE : pre.crop
    if (!(typeof crop === "number" && Number.isInteger(crop) && crop >= MIN_CROP_SIZE)) return null
    if (floor?.mode === "patch") return lcnNormalization(null, crop)
    if (floor?.mode === "data" && typeof floor.level === "number" && floor.level > 0)
      return lcnNormalization(floor.level, crop)
    return null
  } catch {
    return null
  }
}

/** Pixel values per input row: the crop for LCN, else one per model input. */
export const pixelShapeOf = (space: InputSpace): { readonly height: number; readonly width: number } =>
  space.normalization.kind === "lcn"
    ? { height: space.normalization.crop, width: space.normalization.crop }
    : { height: space.height, width: space.width }

/** Rows in the model's input space, and the map of any rows of that space (inputs or reconstructions) back to pixels. */
export interface NormalizedRows {
  readonly x: Float32Array
  readonly rows: number
  /** Pixels of `indices` (rows of x) from values in the model's input space; inside a tidy or disposed by the caller. */
  readonly toPixels: (values: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D
}

/** The normalisations that need no per-row state: every kind but LCN. */
export type RowFreeNormalization = Exclude<Normalization, { kind: "lcn" }>

/** The inverse of a normalisation that needs no per-row state. */
export const rowFreeToPixels = (n: RowFreeNormalization): ((values: tf.Tensor2D) => tf.Tensor2D) => {
  switch (n.kind) {
    case "none":
      return (values) => tf.clone(values)
    case "global":
      return affineToPixels(n.mean, n.std)
    case "per-feature": {
      const mean = Float32Array.from(n.mean)
      const std = Float32Array.from(n.std)
      return (values) => tf.tidy(() => tf.add(tf.mul(values, tf.tensor1d(std)), tf.tensor1d(mean)))
    }
  }
}

/** Pixel rows (rows × pixel values, 0..1) into the model's input space of `space`. */
export const pixelsToInputSpace = (space: InputSpace, pixels: Float32Array, rows: number): NormalizedRows => {
  const n = space.normalization
  if (n.kind === "lcn") {
    const dim = n.patch * n.patch
    const cropDim = n.crop * n.crop
    const lcn = makeLcn(n.scaleReference, n.crop)
    const x = new Float32Array(rows * dim)
    const mean = new Float32Array(rows * dim)
    const scale = new Float32Array(rows * dim)
    for (let i = 0; i < rows; i++) {
      const p = lcn({ pixels: pixels.subarray(i * cropDim, (i + 1) * cropDim), width: n.crop, top: 0, left: 0 })
      x.set(p.patch, i * dim)
      mean.set(p.mean, i * dim)
      scale.set(p.scale, i * dim)
    }
    return {
      x,
      rows,
      toPixels: (values, indices) =>
        tf.tidy(() =>
          lcnToPixels(
            values,
            tf.tensor2d(gatherRows(mean, dim, indices), [indices.length, dim]),
            tf.tensor2d(gatherRows(scale, dim, indices), [indices.length, dim])
          )
        )
    }
  }
  const dim = space.height * space.width
  const x = new Float32Array(rows * dim)
  if (n.kind === "none") x.set(pixels.subarray(0, rows * dim))
  else if (n.kind === "global") for (let i = 0; i < x.length; i++) x[i] = (pixels[i] - n.mean) / n.std
  else for (let i = 0; i < x.length; i++) x[i] = (pixels[i] - n.mean[i % dim]) / n.std[i % dim]
  const back = rowFreeToPixels(n)
  return { x, rows, toPixels: (values) => back(values) }
}
