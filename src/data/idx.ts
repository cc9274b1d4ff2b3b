/**
 * Reader for the IDX format MNIST is distributed in (http://yann.lecun.com/exdb/mnist/):
 * a 4-byte magic number (two zero bytes, a data-type byte, a dimension-count byte), one
 * big-endian uint32 per dimension, then the payload. Only what MNIST uses is supported:
 * unsigned bytes, as 3-dimensional image stacks or 1-dimensional label vectors.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Either } from "effect"
import { gunzipSync } from "node:zlib"
import { DataSourceError, IdxFormatError } from "./errors.js"

export interface IdxArray {
  readonly kind: "images" | "labels"
  /** [count, rows, cols] for images, [count] for labels. */
  readonly dims: number[]
  readonly data: Uint8Array
}

const IMAGES_MAGIC = 0x00000803
const LABELS_MAGIC = 0x00000801
const UNSIGNED_BYTE = 0x08

const hex32 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0")

const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const describeMagic = (magic: number): string => {
  const type = (magic >>> 8) & 0xff
  const ndims = magic & 0xff
  if (magic >>> 16 !== 0) return "which is not an IDX magic number (its first two bytes must be zero)"
  if (type !== UNSIGNED_BYTE)
    return `which declares data type 0x${type.toString(16).padStart(2, "0")}; only unsigned bytes (0x08) are supported`
  return `which declares ${ndims} dimension${ndims === 1 ? "" : "s"}; MNIST images have 3 and labels have 1`
}

/**
 * Parses an IDX file held in memory, gunzipping it first when it starts with the gzip magic
 * bytes (IDX files always start with 0x00 0x00, so the two cannot be confused). Every
 * malformation is returned as an IdxFormatError; it never throws.
 */
export const parseIdx = (bytes: Uint8Array, file: string): Either.Either<IdxArray, IdxFormatError> => {
  const fail = (problem: string) => Either.left(new IdxFormatError({ file, problem }))

  let raw = bytes
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes)
    } catch (e) {
      const detail = e instanceof Error ? ` (${e.message})` : ""
      return fail(`corrupt gzip stream${detail}: the file is damaged or truncated; download it again`)
    }
  }

  if (raw.length < 4)
    return fail(`the file is ${raw.length} bytes long, too short to hold an IDX magic number; download it again`)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const magic = view.getUint32(0)
  if (magic !== IMAGES_MAGIC && magic !== LABELS_MAGIC)
    return fail(
      `found magic number ${hex32(magic)}, ${describeMagic(magic)}. Expected ${hex32(IMAGES_MAGIC)} (images) ` +
        `or ${hex32(LABELS_MAGIC)} (labels); check that this is an MNIST IDX file`
    )

  const kind = magic === IMAGES_MAGIC ? "images" : "labels"
  const ndims = magic & 0xff
  const headerLength = 4 + 4 * ndims
  if (raw.length < headerLength)
    return fail(
      `the ${kind} header needs ${headerLength} bytes but the file has only ${raw.length}: ` +
        `the file is truncated; download it again`
    )

  const dims: number[] = []
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d))
  if (kind === "images" && (dims[1] === 0 || dims[2] === 0))
    return fail(`images must have at least one row and one column, found ${dims[1]}×${dims[2]}; the header is corrupt`)

  // At most 3 factors below 2^32: the product can exceed 2^53 only for headers no real file
  // could match, and then it is still far larger than any payload, which is all we compare.
  const expected = dims.reduce((a, b) => a * b, 1)
  const found = raw.length - headerLength
  const what = kind === "images" ? "pixel data" : "label data"
  if (found < expected)
    return fail(
      `expected ${expected} bytes of ${what} after the header, found ${found}: the file is truncated; download it again`
    )
  if (found > expected)
    return fail(
      `expected ${expected} bytes of ${what} after the header, found ${found}: ${found - expected} trailing ` +
        `bytes that the header does not account for; the file is corrupt, download it again`
    )

  // A plain view, not a Buffer subclass, so callers get exactly the type they were promised.
  const data = new Uint8Array(raw.buffer, raw.byteOffset + headerLength, expected)
  return Either.right({ kind, dims, data })
}

/** Reads and parses one IDX file (raw or gzipped). */
export const readIdxFile = (
  path: string
): Effect.Effect<IdxArray, IdxFormatError | DataSourceError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(path).pipe(
      Effect.mapError(
        (e) =>
          new DataSourceError({
            source: path,
            problem:
              e._tag === "SystemError" && e.reason === "NotFound"
                ? `the file ${path} does not exist`
                : `the file ${path} could not be read (${e.message})`
          })
      )
    )
    return yield* parseIdx(bytes, path)
  })
