/** A patch file back as Datasets whose toPixels undoes the LCN with each row's stored μ and s. */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { type PatchFile, type PatchFileError, type PatchSplit, readPatchFile } from "../../data/patch-file.js"
import { gatherRows } from "../../models/gather-rows.js"
import { lcnToPixels } from "../../models/lcn.js"
import type { Dataset, Splits } from "../dataset.js"
import { lcnOfPatchMetadata, type Normalization } from "../normalization.js"
import { PatchDataError } from "./errors.js"

/**
 * One split as a Dataset. Its toPixels undoes the LCN with the μ and s of the rows it is given
 * (gathered on the host per batch, so the maps never have to fit in the backend's memory).
 */
export const patchDataset = (name: string, split: PatchSplit, size: number, normalization?: Normalization): Dataset => {
  const dim = size * size
  return {
    ...(normalization === undefined ? {} : { normalization }),
    name,
    x: split.patch,
    rows: split.rows,
    dim,
    height: size,
    width: size,
    labels: null,
    toPixels: (x, indices) => {
      if (x.shape[0] !== indices.length) throw new RangeError(`toPixels: ${x.shape[0]} rows but ${indices.length} indices`)
      return tf.tidy(() => lcnToPixels(x, tf.tensor2d(gatherRows(split.mean, dim, indices), [indices.length, dim]), tf.tensor2d(gatherRows(split.scale, dim, indices), [indices.length, dim])))
    }
  }
}

/** The first `rows` rows of a split (all of them when rows is undefined or larger). */
const firstRows = (split: PatchSplit, rows: number | undefined, dim: number): PatchSplit => {
  if (rows === undefined || rows >= split.rows) return split
  return {
    rows,
    patch: split.patch.subarray(0, rows * dim),
    mean: split.mean.subarray(0, rows * dim),
    scale: split.scale.subarray(0, rows * dim),
    source: split.source.slice(0, rows),
    top: split.top.subarray(0, rows),
    left: split.left.subarray(0, rows)
  }
}

/** A patch file's three splits as Datasets, each required to hold rows. */
export const patchSplits = (file: PatchFile, trainSize?: number): Effect.Effect<Splits<Dataset>, PatchDataError> =>
  Effect.gen(function* () {
    for (const name of ["train", "val", "test"] as const) {
      if (file.splits[name].rows === 0) {
        return yield* Effect.fail(new PatchDataError({ file: file.path, problem: `it has no ${name} rows; rebuild it with --${name} greater than 0` }))
      }
    }
    const train = firstRows(file.splits.train, trainSize, file.dim)
    const lcn = lcnOfPatchMetadata(file.metadata) ?? undefined
    return {
      train: patchDataset("train", train, file.size, lcn),
      val: patchDataset("val", file.splits.val, file.size, lcn),
      test: patchDataset("test", file.splits.test, file.size, lcn)
    }
  })

export const loadPatchSplits = (path: string, trainSize?: number): Effect.Effect<{ file: PatchFile; splits: Splits<Dataset> }, PatchFileError | PatchDataError> =>
  readPatchFile(path).pipe(Effect.flatMap((file) => patchSplits(file, trainSize).pipe(Effect.map((splits) => ({ file, splits })))))
