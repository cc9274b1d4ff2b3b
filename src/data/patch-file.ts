/**
 * The patch data set on disk: one Arrow IPC file, one row per patch, with the columns
 *   patch, mean, scale  FixedSizeList<Float32>[784]   the LCN patch, its local mean μ and scale s
 *   source              Utf8                          the photo the crop came from
 *   top, left           Int32                         the crop's corner in the resized photo
 *   split               Utf8                          "train", "val" or "test"
 * and build facts (seed, sizes, folders) as schema metadata. pyarrow and polars read it as is.
 */
import {
  AsyncByteQueue,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  Schema,
  Struct,
  Utf8,
  vectorFromArray
} from "apache-arrow"
import { Data, Effect, type Scope } from "effect"
import { type FileHandle, open } from "node:fs/promises"
import { type AtomicFile, openFileAtomic } from "./atomic-write.js"
import type { WriteError } from "./write-error.js"

export const SPLIT_NAMES = ["train", "val", "test"] as const
export type SplitName = (typeof SPLIT_NAMES)[number]

/** A patch file that cannot be read as one: missing, not Arrow, or with other columns. */
export class PatchFileError extends Data.TaggedError("PatchFileError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `patch file ${this.file}: ${this.problem}`
  }
}

/** The end of every problem with a patch file: how to make a good one. */
export const REBUILD = "build one with `npx tsx experiments/patches.ts build --images DIR --out FILE`"

/** Rows to append: `count` patches, each map `count × dim` values row-major. */
export interface PatchRows {
  readonly count: number
  readonly patch: Float32Array
  readonly mean: Float32Array
  readonly scale: Float32Array
  readonly source: readonly string[]
  readonly top: Int32Array
  readonly left: Int32Array
  readonly split: readonly SplitName[]
}

const MAP_COLUMNS = ["patch", "mean", "scale"] as const

const mapType = (dim: number) => new FixedSizeList(dim, new Field("item", new Float32(), false))

const patchSchema = (dim: number, metadata: Readonly<Record<string, string>> = {}): Schema =>
  new Schema(
    [
      ...MAP_COLUMNS.map((name) => new Field(name, mapType(dim), false)),
      new Field("source", new Utf8(), false),
      new Field("top", new Int32(), false),
      new Field("left", new Int32(), false),
      new Field("split", new Utf8(), false)
    ],
    new Map(Object.entries(metadata))
  )

/** Wraps the flat arrays without copying them. */
const toRecordBatch = (schema: Schema, dim: number, rows: PatchRows): RecordBatch => {
  const map = (values: Float32Array) => {
    if (values.length !== rows.count * dim)
      throw new RangeError(`patch file: a map column has ${values.length} values for ${rows.count} rows of ${dim}`)
    return makeData({
      type: mapType(dim),
      length: rows.count,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: values.length, data: values })
    })
  }
  const children = [
    map(rows.patch),
    map(rows.mean),
    map(rows.scale),
    vectorFromArray(rows.source as string[], new Utf8()).data[0],
    makeData({ type: new Int32(), length: rows.count, data: rows.top }),
    makeData({ type: new Int32(), length: rows.count, data: rows.left }),
    vectorFromArray(rows.split as string[], new Utf8()).data[0]
  ]
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows.count, nullCount: 0, children })
  )
}

/**
 * Arrow's writer hands its bytes to an async queue meant to be read by a stream; this queue
 * instead keeps them until the caller takes them, so each batch's bytes can be written to the
 * file before the next batch is made, and memory stays at one batch however large the file.
 */
class PendingBytes extends AsyncByteQueue {
  private chunks: Uint8Array[] = []
  override write(value: Uint8Array): void {
    this.chunks.push(value)
  }
  take(): Uint8Array[] {
    const out = this.chunks
    this.chunks = []
    return out
  }
}

export interface PatchWriter {
  readonly append: (rows: PatchRows) => Effect.Effect<void, WriteError>
  /** Writes the footer and moves the file into place; until then nothing exists at the path. */
  readonly commit: Effect.Effect<void, WriteError>
}

/**
 * A patch file written batch by batch to a temp file that replaces `path` on commit. Closing the
 * scope without committing (an error, Ctrl-C) removes the temp file.
 */
export const openPatchWriter = (
  path: string,
  dim: number,
  metadata: Readonly<Record<string, string>> = {}
): Effect.Effect<PatchWriter, WriteError, Scope.Scope> =>
  Effect.gen(function* () {
    const file: AtomicFile = yield* openFileAtomic(path)
    const schema = patchSchema(dim, metadata)
    const sink = new PendingBytes()
    const writer = new RecordBatchFileWriter()
    writer.reset(sink, schema)
    const flush = Effect.suspend(() => Effect.forEach(sink.take(), (chunk) => file.write(chunk), { discard: true }))
    return {
      append: (rows) =>
        rows.count === 0
          ? Effect.void
          : Effect.suspend(() => {
              writer.write(toRecordBatch(schema, dim, rows))
              return flush
            }),
      commit: Effect.suspend(() => {
        writer.finish()
        return flush
      }).pipe(Effect.zipRight(file.commit))
    }
  })

/** One split of a patch file, each map `rows × dim` values row-major. */
export interface PatchSplit {
  readonly rows: number
  readonly patch: Float32Array
  readonly mean: Float32Array
  readonly scale: Float32Array
  readonly source: string[]
  readonly top: Int32Array
  readonly left: Int32Array
}

export interface PatchFile {
  readonly path: string
  /** Values per patch (784 for 28×28). */
  readonly dim: number
  /** Side of the square patch. */
  readonly size: number
  readonly metadata: Readonly<Record<string, string>>
  readonly splits: Readonly<Record<SplitName, PatchSplit>>
}

/** The first way the file's schema differs from a patch file's, or null if it does not. */
export const patchSchemaProblem = (schema: Schema): string | null => {
  const field = (name: string) => schema.fields.find((f) => f.name === name)
  const first = field("patch")
  const dim = first?.type instanceof FixedSizeList ? first.type.listSize : 784
  for (const want of patchSchema(dim).fields) {
    const got = field(want.name)
    if (got === undefined) {
      return `it has no column "${want.name}" (its columns: ${schema.fields.map((f) => `"${f.name}"`).join(", ") || "none"})`
    }
    // Arrow's type names spell out what matters here: list size, element type and bit width.
    if (String(got.type) !== String(want.type)) return `column "${want.name}" is ${got.type}, expected ${want.type}`
  }
  const size = Math.round(Math.sqrt(dim))
  if (size * size !== dim) return `patches have ${dim} values, which is not a square image`
  return null
}

/** A typed array that grows by doubling, so a split can be read without knowing its size first. */
class Growable<T extends Float32Array | Int32Array> {
  length = 0
  constructor(
    private data: T,
    private readonly make: (n: number) => T
  ) {}
  append(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) {
      const bigger = this.make(Math.max(this.data.length * 2, this.length + values.length))
      bigger.set(this.data.subarray(0, this.length))
      this.data = bigger
    }
    this.data.set(values, this.length)
    this.length += values.length
  }
  result(): T {
    return this.data.subarray(0, this.length) as T
  }
}

interface SplitBuilder {
  patch: Growable<Float32Array>
  mean: Growable<Float32Array>
  scale: Growable<Float32Array>
  top: Growable<Int32Array>
  left: Growable<Int32Array>
  source: string[]
}

const newSplit = (rowsHint: number, dim: number): SplitBuilder => {
  const f32 = (n: number) => new Float32Array(n)
  const i32 = (n: number) => new Int32Array(n)
  const rows = Math.max(rowsHint, 16)
  return {
    patch: new Growable(f32(rows * dim), f32),
    mean: new Growable(f32(rows * dim), f32),
    scale: new Growable(f32(rows * dim), f32),
    top: new Growable(i32(rows), i32),
    left: new Growable(i32(rows), i32),
    source: []
  }
}

/** A FixedSizeList column's values for rows [0, length) of one batch, as a view. */
export const listValues = (batch: RecordBatch, name: string, dim: number): Float32Array => {
  const data = batch.getChild(name)!.data[0]
  const child = data.children[0]
  const values = child.values as Float32Array
  const start = child.offset + data.offset * dim
  return values.subarray(start, start + data.length * dim)
}

/** The file's Arrow reader, opened (schema read); a PatchFileError if the file is not Arrow IPC. */
export const openPatchReader = async (handle: FileHandle, path: string) => {
  try {
    const reader = await RecordBatchReader.from(handle)
    await reader.open()
    return reader
  } catch (cause) {
    throw new PatchFileError({
      file: path,
      problem: `it is not an Arrow IPC file (${cause instanceof Error ? cause.message : String(cause)}); ${REBUILD}`
    })
  }
}

/** Throws a PatchFileError if a column of the record batch has null rows. */
export const checkNoNulls = (batch: RecordBatch, path: string): void => {
  for (const name of [...MAP_COLUMNS, "source", "top", "left", "split"]) {
    if (batch.getChild(name)!.nullCount > 0)
      throw new PatchFileError({ file: path, problem: `column "${name}" has empty (null) rows; ${REBUILD}` })
  }
}

/**
 * Reads a whole patch file into memory, grouped by split. It streams the file batch by batch
 * (Node cannot read a file over 2 GiB in one piece, and the paper's sizes make one of about
 * 2.3 GB), and checks the schema first so that a wrong file fails with the column at fault.
 */
export const readPatchFile = (path: string): Effect.Effect<PatchFile, PatchFileError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => open(path, "r"),
      catch: (cause) => {
        const code = (cause as { code?: unknown } | null)?.code
        const why =
          code === "ENOENT"
            ? "it does not exist"
            : code === "EISDIR"
              ? "it is a folder"
              : cause instanceof Error
                ? cause.message
                : String(cause)
        return new PatchFileError({ file: path, problem: `${why}; ${REBUILD}` })
      }
    }),
    (handle) =>
      Effect.tryPromise({
        try: async () => {
          const reader = await openPatchReader(handle, path)
          const schema = reader.schema
          const problem = patchSchemaProblem(schema)
          if (problem !== null)
            throw new PatchFileError({ file: path, problem: `it is not a patch file: ${problem}; ${REBUILD}` })
          const dim = (schema.fields.find((f) => f.name === "patch")!.type as FixedSizeList).listSize
          const metadata = Object.fromEntries(schema.metadata)
          const hint = (name: SplitName) => {
            const n = Number(metadata[`rows.${name}`])
            return Number.isSafeInteger(n) && n >= 0 ? n : 1024
          }
          const builders = Object.fromEntries(SPLIT_NAMES.map((s) => [s, newSplit(hint(s), dim)])) as Record<
            SplitName,
            SplitBuilder
          >
          for await (const batch of reader) {
            checkNoNulls(batch, path)
            const maps = MAP_COLUMNS.map((c) => listValues(batch, c, dim))
            const source = batch.getChild("source")!
            const top = batch.getChild("top")!.toArray() as Int32Array
            const left = batch.getChild("left")!.toArray() as Int32Array
            const split = batch.getChild("split")!
            for (let i = 0; i < batch.numRows; i++) {
              const name = split.get(i) as string
              const b = builders[name as SplitName]
              if (b === undefined || !(SPLIT_NAMES as readonly string[]).includes(name)) {
                throw new PatchFileError({
                  file: path,
                  problem: `row ${i} of a batch has split ${JSON.stringify(name)}, not one of ${SPLIT_NAMES.join(", ")}; ${REBUILD}`
                })
              }
              b.patch.append(maps[0].subarray(i * dim, (i + 1) * dim))
              b.mean.append(maps[1].subarray(i * dim, (i + 1) * dim))
              b.scale.append(maps[2].subarray(i * dim, (i + 1) * dim))
              b.top.append([top[i]])
              b.left.append([left[i]])
              b.source.push(source.get(i) as string)
            }
          }
          const splits = Object.fromEntries(
            SPLIT_NAMES.map((s) => {
              const b = builders[s]
              return [
                s,
                {
                  rows: b.source.length,
                  patch: b.patch.result(),
                  mean: b.mean.result(),
                  scale: b.scale.result(),
                  source: b.source,
                  top: b.top.result(),
                  left: b.left.result()
                }
              ]
            })
          ) as Record<SplitName, PatchSplit>
          return { path, dim, size: Math.round(Math.sqrt(dim)), metadata, splits }
        },
        catch: (cause) =>
          cause instanceof PatchFileError
            ? cause
            : new PatchFileError({
                file: path,
                problem: `it could not be read (${cause instanceof Error ? cause.message : String(cause)}); the file may be truncated or damaged: ${REBUILD}`
              })
      }),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )
