/**
 * A patch file read from disk a record batch at a time, for files too large to hold (a row is
 * three 784-value maps, 9.4 kB: a million patches are 9.4 GB). The Arrow IPC file format ends
 * with a footer listing where each record batch starts, so any record batch can be read alone:
 * opening the file reads the footer and scans the `split` column once (4 bytes per row kept: the
 * row's place in its record batch and the record batch), and batches of rows are then gathered
 * from a small cache of decoded record batches.
 *
 * Training needs a fresh order each epoch, and a uniformly random one would touch a different
 * record batch for nearly every row of a mini-batch. The epoch order here (windowedOrder) is
 * instead a seeded permutation in two levels: the record batches in a random order, taken
 * `window` at a time, and the rows of each such window in a random order. Every row comes once
 * per epoch and the whole order is drawn from the run's generator at the start of the epoch (so
 * a resumed epoch redraws it exactly), but a mini-batch mixes rows of `window` record batches
 * (each about 2,048 rows of a few photos) rather than of the whole file.
 */
import { FixedSizeList, type RecordBatch, RecordBatchReader, Table, tableToIPC } from "apache-arrow"
import { Effect } from "effect"
import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import { open } from "node:fs/promises"
import {
  checkNoNulls,
  listValues,
  openPatchReader,
  patchSchemaProblem,
  PatchFileError,
  REBUILD,
  SPLIT_NAMES,
  type SplitName
} from "../../data/patch-file.js"
import type { Rng } from "../../data/random.js"
import type { EpochOrder } from "../sources/dataset.js"

/** Record batches decoded at a time by default: a window of 8 × 2,048 rows, about 155 MB. */
export const DEFAULT_WINDOW = 8

/** One split of a streamed patch file: where each of its rows is. */
export interface StreamedSplit {
  readonly rows: number
  /** Record batch of each row, non-decreasing (rows are numbered in file order). */
  readonly batchOf: Int32Array
  /** Row within its record batch. */
  readonly rowInBatch: Int32Array
}

/** The maps of one decoded record batch, each `numRows × dim` values. */
interface DecodedBatch {
  readonly patch: Float32Array
  readonly mean: Float32Array
  readonly scale: Float32Array
}

export interface StreamedPatchFile {
  readonly path: string
  readonly dim: number
  readonly size: number
  readonly metadata: Readonly<Record<string, string>>
  readonly recordBatches: number
  readonly splits: Readonly<Record<SplitName, StreamedSplit>>
  /** The rows `indices` of a split: each map's values, row-major, in fresh arrays. */
  readonly gather: (split: SplitName, indices: ArrayLike<number>) => DecodedBatch
  /** Record batches decoded so far (cache misses), for tests and benchmarks. */
  readonly reads: () => number
}

/** Schema, footer blocks and the file's size, through Arrow's asynchronous file reader. */
const readFooter = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await open(path, "r")
      try {
        const reader = await openPatchReader(handle, path)
        if (!reader.isFile())
          throw new PatchFileError({
            file: path,
            problem: `it is an Arrow IPC stream, not a file with a footer, so it cannot be read a record batch at a time; ${REBUILD}`
          })
        const footer = reader.footer
        if (footer === null)
          throw new PatchFileError({ file: path, problem: `it has no Arrow file footer; ${REBUILD}` })
        const blocks = Array.from({ length: footer.numRecordBatches }, (_, i) => {
          const b = footer.getRecordBatch(i)!
          return { offset: Number(b.offset), length: b.metaDataLength + Number(b.bodyLength) }
        })
        return { schema: reader.schema, blocks }
      } finally {
        await handle.close().catch(() => undefined)
      }
    },
    catch: (cause) =>
      cause instanceof PatchFileError
        ? cause
        : new PatchFileError({
            file: path,
            problem: `${(cause as { code?: unknown } | null)?.code === "ENOENT" ? "it does not exist" : `it could not be read (${cause instanceof Error ? cause.message : String(cause)})`}; ${REBUILD}`
          })
  })

/**
 * Opens a patch file to be read a record batch at a time, holding at most
 * `cacheBatches` decoded record batches. Checks the schema and every row's split, as readPatchFile does.
 */
export const openStreamedPatchFile = (
  path: string,
  cacheBatches = DEFAULT_WINDOW + 1
): Effect.Effect<StreamedPatchFile, PatchFileError> =>
  Effect.gen(function* () {
    const { schema, blocks } = yield* readFooter(path)
    const problem = patchSchemaProblem(schema)
    if (problem !== null)
      return yield* Effect.fail(
        new PatchFileError({ file: path, problem: `it is not a patch file: ${problem}; ${REBUILD}` })
      )
    const dim = (schema.fields.find((f) => f.name === "patch")!.type as FixedSizeList).listSize
    // A record batch alone is read as an IPC stream of the schema's message and the batch's.
    const stream = tableToIPC(new Table(schema), "stream")
    const prefix = stream.subarray(0, stream.length - 8)
    let reads = 0
    // The file is opened for each read (a record batch is megabytes: the open costs nothing next
    // to it), so nothing stays open and the data sets need no scope.
    const decode = (i: number): RecordBatch => {
      const { offset, length } = blocks[i]
      const bytes = new Uint8Array(prefix.length + length)
      bytes.set(prefix)
      const fd = openSync(path, "r")
      try {
        if (offset + length > fstatSync(fd).size)
          throw new PatchFileError({
            file: path,
            problem: `record batch ${i} ends past the end of the file; the file is truncated or damaged: ${REBUILD}`
          })
        for (let done = 0; done < length; ) {
          const n = readSync(fd, bytes, prefix.length + done, length - done, offset + done)
          if (n === 0)
            throw new PatchFileError({ file: path, problem: `record batch ${i} could not be read whole; ${REBUILD}` })
          done += n
        }
      } finally {
        closeSync(fd)
      }
      reads++
      const batch = RecordBatchReader.from(bytes).next().value as RecordBatch | undefined
      if (batch === undefined)
        throw new PatchFileError({ file: path, problem: `record batch ${i} could not be decoded; ${REBUILD}` })
      return batch
    }

    // One pass over the file: each row's split, and the null checks of readPatchFile.
    const locations = Object.fromEntries(
      SPLIT_NAMES.map((s) => [s, { batch: [] as number[], row: [] as number[] }])
    ) as Record<SplitName, { batch: number[]; row: number[] }>
    yield* Effect.try({
      try: () => {
        for (let i = 0; i < blocks.length; i++) {
          const batch = decode(i)
          checkNoNulls(batch, path)
          const split = batch.getChild("split")!
          for (let r = 0; r < batch.numRows; r++) {
            const name = split.get(r) as string
            const where = (SPLIT_NAMES as readonly string[]).includes(name) ? locations[name as SplitName] : undefined
            if (where === undefined)
              throw new PatchFileError({
                file: path,
                problem: `row ${r} of record batch ${i} has split ${JSON.stringify(name)}, not one of ${SPLIT_NAMES.join(", ")}; ${REBUILD}`
              })
            where.batch.push(i)
            where.row.push(r)
          }
        }
      },
      catch: (e) =>
        e instanceof PatchFileError
          ? e
          : new PatchFileError({
              file: path,
              problem: `it could not be read (${e instanceof Error ? e.message : String(e)}); the file may be truncated or damaged: ${REBUILD}`
            })
    })
    const splits = Object.fromEntries(
      SPLIT_NAMES.map((s) => [
        s,
        {
          rows: locations[s].batch.length,
          batchOf: Int32Array.from(locations[s].batch),
          rowInBatch: Int32Array.from(locations[s].row)
        }
      ])
    ) as Record<SplitName, StreamedSplit>

    // Least recently used record batches, decoded.
    const cache = new Map<number, DecodedBatch>()
    const decoded = (i: number): DecodedBatch => {
      const hit = cache.get(i)
      if (hit !== undefined) {
        cache.delete(i)
        cache.set(i, hit)
        return hit
      }
      const batch = decode(i)
      const maps = {
        patch: listValues(batch, "patch", dim),
        mean: listValues(batch, "mean", dim),
        scale: listValues(batch, "scale", dim)
      }
      cache.set(i, maps)
      if (cache.size > Math.max(1, cacheBatches)) cache.delete(cache.keys().next().value!)
      return maps
    }
    const gather = (name: SplitName, indices: ArrayLike<number>): DecodedBatch => {
      const split = splits[name]
      const out = {
        patch: new Float32Array(indices.length * dim),
        mean: new Float32Array(indices.length * dim),
        scale: new Float32Array(indices.length * dim)
      }
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]
        if (!(Number.isInteger(i) && i >= 0 && i < split.rows))
          throw new RangeError(`${path}: ${name} row ${i} is outside 0..${split.rows - 1}`)
        const maps = decoded(split.batchOf[i])
        const from = split.rowInBatch[i] * dim
        out.patch.set(maps.patch.subarray(from, from + dim), k * dim)
        out.mean.set(maps.mean.subarray(from, from + dim), k * dim)
        out.scale.set(maps.scale.subarray(from, from + dim), k * dim)
      }
      return out
    }
    return {
      path,
      dim,
      size: Math.round(Math.sqrt(dim)),
      metadata: Object.fromEntries(schema.metadata),
      recordBatches: blocks.length,
      splits,
      gather,
      reads: () => reads
    }
  })

/**
 * The windowed epoch order of a split's first `rows` rows (see the top of this file): the record
 * batches holding them in the order of rng.permutation, `window` at a time; the rows of each
 * window (in file order) in the order of a further rng.permutation of their count. Rows are
 * numbered in file order, so those of one record batch are consecutive.
 */
export const windowedOrder =
  (split: StreamedSplit, window: number): EpochOrder =>
  (rows: number, rng: Rng): Int32Array => {
    // Consecutive runs of rows in one record batch: [start, end) of row numbers.
    const starts: number[] = []
    for (let i = 0; i < rows; i++) if (i === 0 || split.batchOf[i] !== split.batchOf[i - 1]) starts.push(i)
    const end = (b: number) => (b + 1 < starts.length ? starts[b + 1] : rows)
    const batches = rng.permutation(starts.length)
    const order = new Int32Array(rows)
    let at = 0
    for (let w = 0; w < batches.length; w += Math.max(1, window)) {
      const inWindow: number[] = []
      for (const b of batches.slice(w, w + Math.max(1, window)))
        for (let i = starts[b]; i < end(b); i++) inWindow.push(i)
      for (const k of rng.permutation(inWindow.length)) order[at++] = inWindow[k]
    }
    return order
  }
