import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import { join } from "node:path"
import { DataSourceError, IdxFormatError } from "../../src/data/errors.js"
import { type IdxArray, parseIdx, readIdxFile } from "../../src/data/idx.js"
import { encodeIdx, encodeImages, encodeLabels, gzip } from "../helpers/idx-writer.js"

const bytesOf = (n: number, f: (i: number) => number = (i) => (i * 37) % 256) =>
  Uint8Array.from({ length: n }, (_, i) => f(i))

const expectRight = (result: Either.Either<IdxArray, IdxFormatError>): IdxArray => {
  if (Either.isLeft(result)) throw new Error(`expected a valid parse, got: ${result.left.message}`)
  return result.right
}

const expectLeft = (result: Either.Either<IdxArray, IdxFormatError>): IdxFormatError => {
  if (Either.isRight(result)) throw new Error("expected an IdxFormatError, got a valid parse")
  expect(result.left).toBeInstanceOf(IdxFormatError)
  return result.left
}

describe("parseIdx: valid files", () => {
  it("reads a raw images file", () => {
    const pixels = bytesOf(2 * 3 * 4)
    const idx = expectRight(parseIdx(encodeImages(2, 3, 4, pixels), "imgs"))
    expect(idx.kind).toBe("images")
    expect(idx.dims).toEqual([2, 3, 4])
    expect(idx.data).toEqual(pixels)
    expect(Object.getPrototypeOf(idx.data)).toBe(Uint8Array.prototype)
  })

  it("reads a raw labels file", () => {
    const labels = Uint8Array.from([3, 1, 4, 1, 5, 9, 2, 6])
    const idx = expectRight(parseIdx(encodeLabels(labels), "labels"))
    expect(idx.kind).toBe("labels")
    expect(idx.dims).toEqual([8])
    expect(idx.data).toEqual(labels)
  })

  it("gunzips a gzipped file transparently", () => {
    const pixels = bytesOf(5 * 28 * 28)
    const idx = expectRight(parseIdx(gzip(encodeImages(5, 28, 28, pixels)), "imgs.gz"))
    expect(idx.dims).toEqual([5, 28, 28])
    expect(idx.data).toEqual(pixels)
  })

  it("accepts an empty set (count 0)", () => {
    const idx = expectRight(parseIdx(encodeImages(0, 28, 28, new Uint8Array(0)), "empty"))
    expect(idx.dims).toEqual([0, 28, 28])
    expect(idx.data.length).toBe(0)
  })
})

describe("parseIdx: malformed files", () => {
  it("rejects a truncated payload, saying how many bytes are missing and what to do", () => {
    const full = encodeImages(2, 3, 4, bytesOf(24))
    const error = expectLeft(parseIdx(full.subarray(0, full.length - 1), "train-images-idx3-ubyte"))
    expect(error.file).toBe("train-images-idx3-ubyte")
    expect(error.problem).toBe(
      "expected 24 bytes of pixel data after the header, found 23: the file is truncated; download it again"
    )
    expect(error.message).toContain("train-images-idx3-ubyte")
  })

  it("rejects a truncated header", () => {
    const full = encodeImages(2, 3, 4, bytesOf(24))
    expect(expectLeft(parseIdx(full.subarray(0, 10), "f")).problem).toContain("header needs 16 bytes")
    expect(expectLeft(parseIdx(full.subarray(0, 3), "f")).problem).toContain("too short")
    expect(expectLeft(parseIdx(new Uint8Array(0), "f")).problem).toContain("too short")
  })

  it("rejects trailing bytes", () => {
    const full = encodeLabels(bytesOf(10, (i) => i % 10))
    const padded = new Uint8Array(full.length + 3)
    padded.set(full)
    const error = expectLeft(parseIdx(padded, "labels"))
    expect(error.problem).toContain("expected 10 bytes of label data after the header, found 13")
    expect(error.problem).toContain("3 trailing bytes")
  })

  it("rejects a wrong magic number, naming it in hex", () => {
    const bogus = encodeIdx(0x12345678, [1], new Uint8Array(1))
    const error = expectLeft(parseIdx(bogus, "weird.bin"))
    expect(error.problem).toContain("0x12345678")
    expect(error.message).toContain("weird.bin")
  })

  it("rejects data types other than unsigned bytes", () => {
    const floats = encodeIdx(0x00000d03, [1, 1, 1], new Uint8Array(4))
    const error = expectLeft(parseIdx(floats, "f"))
    expect(error.problem).toContain("0x00000d03")
    expect(error.problem).toContain("0x08")
  })

  it("rejects a wrong number of dimensions", () => {
    const twoDims = encodeIdx(0x00000802, [2, 2], new Uint8Array(4))
    const error = expectLeft(parseIdx(twoDims, "f"))
    expect(error.problem).toContain("0x00000802")
    expect(error.problem).toContain("2 dimensions")
    expect(expectLeft(parseIdx(encodeIdx(0x00000804, [1, 1, 1, 1], new Uint8Array(1)), "f")).problem).toContain(
      "4 dimensions"
    )
  })

  it("rejects images with zero rows or columns", () => {
    expect(expectLeft(parseIdx(encodeImages(3, 0, 28, new Uint8Array(0)), "f")).problem).toContain("0×28")
    expect(expectLeft(parseIdx(encodeImages(3, 28, 0, new Uint8Array(0)), "f")).problem).toContain("28×0")
  })

  it("rejects a corrupt gzip stream", () => {
    const gz = gzip(encodeImages(4, 28, 28, bytesOf(4 * 784)))
    const damaged = gz.slice()
    for (let i = 20; i < damaged.length - 8; i += 7) damaged[i] ^= 0x5a
    expect(expectLeft(parseIdx(damaged, "x.gz")).problem).toContain("corrupt gzip stream")
    expect(expectLeft(parseIdx(gz.subarray(0, gz.length - 4), "x.gz")).problem).toContain("corrupt gzip stream")
  })

  it("rejects absurd dimensions without allocating them", () => {
    const huge = encodeImages(0xffffffff, 0xffffffff, 0xffffffff, new Uint8Array(8))
    expect(expectLeft(parseIdx(huge, "f")).problem).toContain("truncated")
  })
})

describe("parseIdx: properties", () => {
  const imagesArb = fc
    .record({
      count: fc.integer({ min: 0, max: 6 }),
      rows: fc.integer({ min: 1, max: 9 }),
      cols: fc.integer({ min: 1, max: 9 })
    })
    .chain(({ count, rows, cols }) =>
      fc.uint8Array({ minLength: count * rows * cols, maxLength: count * rows * cols }).map((pixels) => ({
        dims: [count, rows, cols],
        bytes: encodeImages(count, rows, cols, pixels),
        payload: pixels
      }))
    )
  const labelsArb = fc.uint8Array({ maxLength: 40 }).map((labels) => ({
    dims: [labels.length],
    bytes: encodeLabels(labels),
    payload: labels
  }))
  const fileArb = fc.tuple(fc.oneof(imagesArb, labelsArb), fc.boolean()).map(([file, zipped]) => ({
    ...file,
    bytes: zipped ? gzip(file.bytes) : file.bytes
  }))

  it("any valid header and payload round-trips, raw or gzipped", () => {
    fc.assert(
      fc.property(fileArb, ({ dims, bytes, payload }) => {
        const idx = expectRight(parseIdx(bytes, "f"))
        expect(idx.kind).toBe(dims.length === 3 ? "images" : "labels")
        expect(idx.dims).toEqual(dims)
        expect(idx.data).toEqual(payload)
      })
    )
  })

  it("any truncation of a valid file is an IdxFormatError, never a throw", () => {
    fc.assert(
      fc.property(
        fileArb.chain((file) => fc.tuple(fc.constant(file), fc.integer({ min: 0, max: file.bytes.length - 1 }))),
        ([{ bytes }, cut]) => {
          expectLeft(parseIdx(bytes.subarray(0, cut), "f"))
        }
      )
    )
  })

  it("any bytes appended to a valid uncompressed file are an IdxFormatError", () => {
    fc.assert(
      fc.property(
        fc.oneof(imagesArb, labelsArb),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        ({ bytes }, extra) => {
          const padded = new Uint8Array(bytes.length + extra.length)
          padded.set(bytes)
          padded.set(extra, bytes.length)
          expect(expectLeft(parseIdx(padded, "f")).problem).toContain("trailing")
        }
      )
    )
  })

  it("arbitrary bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, zipped) => {
        const result = parseIdx(zipped ? gzip(bytes) : bytes, "f")
        expect(Either.isLeft(result) || Either.isRight(result)).toBe(true)
      })
    )
  })
})

layer(NodeContext.layer)("readIdxFile", (it) => {
  it.scoped("reads a file from disk", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = join(dir, "labels-idx1-ubyte.gz")
      yield* fs.writeFile(path, gzip(encodeLabels(Uint8Array.from([7, 2, 1]))))
      const idx = yield* readIdxFile(path)
      expect(idx.kind).toBe("labels")
      expect(Array.from(idx.data)).toEqual([7, 2, 1])
    })
  )

  it.scoped("reports a missing file as a DataSourceError naming the path", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = join(dir, "nope-idx3-ubyte")
      const error = yield* Effect.flip(readIdxFile(path))
      expect(error).toBeInstanceOf(DataSourceError)
      expect(error.message).toContain(path)
      expect(error.message).toContain("does not exist")
    })
  )

  it.scoped("reports a malformed file as an IdxFormatError naming the path", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const path = join(dir, "short-idx3-ubyte")
      yield* fs.writeFile(path, encodeImages(1, 28, 28, new Uint8Array(700)))
      const error = yield* Effect.flip(readIdxFile(path))
      expect(error).toBeInstanceOf(IdxFormatError)
      expect(error.message).toContain(path)
      expect(error.message).toContain("expected 784 bytes of pixel data after the header, found 700")
    })
  )
})
