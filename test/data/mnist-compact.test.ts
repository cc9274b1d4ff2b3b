/** MNIST kept as bytes (issue 15): batches normalised when gathered equal the whole set normalised at once. */
import { Chunk, Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { MNIST_PIXELS, type MnistData, selectedImagesOf } from "../../src/data/mnist/data.js"
import { normalizeMnist, normalizeMnistRows } from "../../src/data/mnist/normalize.js"
import { makeRng } from "../../src/data/random.js"
import { gatherRows } from "../../src/models/gather-rows.js"
import { batchStream, firstRows, rowsAt } from "../../src/pipeline/sources/dataset.js"
import { normalizeMnistStage, splitStage } from "../../src/pipeline/sources/mnist.js"

const data = (count: number, validationIndices?: number[]): MnistData => {
  const rng = makeRng(5)
  const split = (n: number) => ({
    images: Uint8Array.from({ length: n * MNIST_PIXELS }, () => rng.int(256)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    count: n
  })
  return {
    train: split(count),
    test: split(20),
    ...(validationIndices === undefined ? {} : { validationIndices }),
    source: "synthetic"
  }
}

describe("MNIST as bytes", () => {
  it("normalizeMnistRows gives normalizeMnist's floats for the rows asked, and refuses rows outside", () => {
    const d = data(30)
    const indices = Int32Array.from([7, 0, 29, 7])
    expect(normalizeMnistRows(d.train.images, indices)).toEqual(
      gatherRows(normalizeMnist(d.train.images), MNIST_PIXELS, indices)
    )
    expect(() => normalizeMnistRows(d.train.images, [30])).toThrow(RangeError)
  })

  it("reads rows word by word or byte by byte, into a buffer given or a new array, to the same floats", () => {
    const d = data(30)
    const indices = Int32Array.from([29, 3, 3, 0])
    const expected = gatherRows(normalizeMnist(d.train.images), MNIST_PIXELS, indices)
    // The same bytes at an offset of 1 (no word boundary) and 4 (one) into a larger buffer.
    for (const offset of [1, 4]) {
      const shifted = new Uint8Array(d.train.images.length + 8)
      shifted.set(d.train.images, offset)
      const images = shifted.subarray(offset, offset + d.train.images.length)
      expect(normalizeMnistRows(images, indices)).toEqual(expected)
      const out = new Float32Array(6 * MNIST_PIXELS).fill(Number.NaN)
      const filled = normalizeMnistRows(images, indices, out)
      expect(filled.buffer).toBe(out.buffer)
      expect(filled).toEqual(expected)
    }
  })

  for (const authors of [false, true]) {
    it(`a split's data set gathers from the loaded images without copying them (${authors ? "authors'" : "seeded"} validation)`, () => {
      const d = data(60, authors ? [3, 10, 11, 40, 59] : undefined)
      const splits = splitStage(9)(d)
      expect(selectedImagesOf(splits.train)?.images).toBe(d.train.images)
      const train = normalizeMnistStage("train")(splits.train)
      // The split's own images (copied on first read) normalised at once: what the pipeline held before.
      const whole = normalizeMnist(splits.train.images)
      const batches = Effect.runSync(Stream.runCollect(batchStream(train, 8, { kind: "shuffled", rng: makeRng(4) })))
      const reference = Effect.runSync(
        Stream.runCollect(batchStream({ ...train, x: whole }, 8, { kind: "shuffled", rng: makeRng(4) }))
      )
      expect(Chunk.toArray(batches)).toEqual(Chunk.toArray(reference))
      expect(train.x).toEqual(whole)
      expect(rowsAt(train, Int32Array.from([2, 1]))).toEqual(gatherRows(whole, MNIST_PIXELS, [2, 1]))
      const first = firstRows(normalizeMnistStage("train")(splits.train), 5)
      expect(first.rows).toBe(5)
      expect(first.x).toEqual(whole.subarray(0, 5 * MNIST_PIXELS))
      expect(() => rowsAt(first, Int32Array.from([train.rows]))).toThrow(RangeError)
    })
  }
})
