/** A patch file back as Datasets whose toPixels undoes the LCN with each row's stored μ and s. */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { statSync } from "node:fs"
import {
  type PatchFile,
  PatchFileError,
  type PatchSplit,
  readPatchFile,
  type SplitName
} from "../../data/patch-file.js"
import { gatherRows } from "../../models/gather-rows.js"
import { lcnToPixels } from "../../models/lcn.js"
import { type Dataset, datasetFromGather, firstRows as firstDatasetRows, type Splits } from "../sources/dataset.js"
import { lcnOfPatchMetadata, type Normalization } from "../sources/normalization.js"
import { PatchDataError } from "./errors.js"
import { DEFAULT_WINDOW, openStreamedPatchFile, type StreamedPatchFile, windowedOrder } from "./streamed.js"

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
      if (x.shape[0] !== indices.length)
        throw new RangeError(`toPixels: ${x.shape[0]} rows but ${indices.length} indices`)
      return tf.tidy(() =>
        lcnToPixels(
          x,
          tf.tensor2d(gatherRows(split.mean, dim, indices), [indices.length, dim]),
          tf.tensor2d(gatherRows(split.scale, dim, indices), [indices.length, dim])
        )
      )
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
        return yield* Effect.fail(
          new PatchDataError({
            file: file.path,
            problem: `it has no ${name} rows; rebuild it with --${name} greater than 0`
          })
        )
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

/**
 * One split of a streamed patch file as a Dataset: batches are gathered from disk (with their μ
 * and s, kept for the toPixels of the same batch), and a training epoch's order is the windowed
 * one of streamed.ts. Its x, read by consumers that want every row, is built on first read.
 */
export const streamedPatchDataset = (
  name: SplitName,
  file: StreamedPatchFile,
  window: number,
  normalization?: Normalization
): Dataset => {
  const dim = file.dim
  // The maps gathered with each batch's rows, by the batch's own indices array: toPixels is
  // called with that array right after (trainStep, evaluation), and needs no second read.
  const maps = new WeakMap<Int32Array, { mean: Float32Array; scale: Float32Array }>()
  const gather = (indices: Int32Array) => {
    const rows = file.gather(name, indices)
    maps.set(indices, { mean: rows.mean, scale: rows.scale })
    return rows.patch
  }
  return datasetFromGather(
    {
      ...(normalization === undefined ? {} : { normalization }),
      name,
      rows: file.splits[name].rows,
      dim,
      height: file.size,
      width: file.size,
      labels: null,
      toPixels: (x, indices) => {
        if (x.shape[0] !== indices.length)
          throw new RangeError(`toPixels: ${x.shape[0]} rows but ${indices.length} indices`)
        const m = maps.get(indices) ?? file.gather(name, indices)
        return tf.tidy(() =>
          lcnToPixels(x, tf.tensor2d(m.mean, [indices.length, dim]), tf.tensor2d(m.scale, [indices.length, dim]))
        )
      }
    },
    gather,
    windowedOrder(file.splits[name], window)
  )
}

/**
 * How a patch file is read: whole into memory ("memory", every existing run's way, with a
 * uniformly random epoch order), a record batch at a time ("stream", windowed epoch order, memory
 * bounded by the window), or "auto": streamed when the file is larger than STREAM_ABOVE_BYTES.
 */
export type PatchReading = "auto" | "memory" | "stream"

/**
 * Files up to this size are read whole under "auto": 4 GiB, above the 2.3 GB of the paper's
 * sizes (240,000 patches), so runs on such files keep their order and results.
 */
export const STREAM_ABOVE_BYTES = 4 * 2 ** 30

export interface PatchLoadOptions {
  readonly reading?: PatchReading
  /** Record batches per window of the streamed epoch order (default DEFAULT_WINDOW). */
  readonly window?: number
}

/** What a loaded patch file is, whichever way it is read. */
export type PatchFileInfo = Pick<PatchFile, "path" | "dim" | "size" | "metadata"> & { readonly streamed: boolean }

/**
 * A patch file's splits as Datasets, read whole or streamed (options.reading).
 */
export const loadPatchSplits = (
  path: string,
  trainSize?: number,
  options: PatchLoadOptions = {}
): Effect.Effect<{ file: PatchFileInfo; splits: Splits<Dataset> }, PatchFileError | PatchDataError> =>
  Effect.gen(function* () {
    const reading = options.reading ?? "auto"
    const large =
      reading === "auto" &&
      (yield* Effect.try({ try: () => statSync(path).size > STREAM_ABOVE_BYTES, catch: () => false }).pipe(
        Effect.orElseSucceed(() => false)
      ))
    if (reading === "memory" || (reading === "auto" && !large)) {
      const file = yield* readPatchFile(path)
      const splits = yield* patchSplits(file, trainSize)
      return {
        file: { path: file.path, dim: file.dim, size: file.size, metadata: file.metadata, streamed: false },
        splits
      }
    }
    const window = options.window ?? DEFAULT_WINDOW
    if (!(Number.isInteger(window) && window >= 1))
      return yield* Effect.fail(
        new PatchFileError({ file: path, problem: `a window of ${window} record batches is not a whole number ≥ 1` })
      )
    const file = yield* openStreamedPatchFile(path, window + 1)
    for (const name of ["train", "val", "test"] as const) {
      if (file.splits[name].rows === 0)
        return yield* Effect.fail(
          new PatchDataError({
            file: path,
            problem: `it has no ${name} rows; rebuild it with --${name} greater than 0`
          })
        )
    }
    const lcn = lcnOfPatchMetadata(file.metadata) ?? undefined
    const make = (name: SplitName) => streamedPatchDataset(name, file, window, lcn)
    const train = make("train")
    return {
      file: { path, dim: file.dim, size: file.size, metadata: file.metadata, streamed: true },
      splits: {
        train: trainSize === undefined ? train : firstDatasetRows(train, trainSize),
        val: make("val"),
        test: make("test")
      }
    }
  })
