import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { MNIST_PIXELS, type MnistData, type MnistSplit } from "../../src/data/mnist/data.js"
import { loadEmbeddedMnist } from "../../src/data/mnist/embedded.js"
import { makeRng } from "../../src/data/random.js"
import { MNIST_MEAN, MNIST_STD, normalizeMnist } from "../../src/data/mnist/normalize.js"
import { splitMnist } from "../../src/data/mnist/split.js"

/** Image i carries i in its first two pixels, so every example can be traced back to its index. */
const syntheticSplit = (count: number): MnistSplit => {
  const images = new Uint8Array(count * MNIST_PIXELS)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    images[i * MNIST_PIXELS] = i & 0xff
    images[i * MNIST_PIXELS + 1] = i >> 8
    labels[i] = i % 10
  }
  return { images, labels, count }
}
const synthetic = (trainCount: number, testCount = 30, validationIndices?: number[]): MnistData => ({
  train: syntheticSplit(trainCount),
  test: syntheticSplit(testCount),
  ...(validationIndices ? { validationIndices } : {}),
  source: "synthetic"
})
const originalIndices = (split: MnistSplit): number[] =>
  Array.from(
    { length: split.count },
    (_, k) => split.images[k * MNIST_PIXELS] + 256 * split.images[k * MNIST_PIXELS + 1]
  )

describe("makeRng", () => {
  it("is deterministic per seed and differs between seeds", () => {
    const draw = (seed: number) => {
      const rng = makeRng(seed)
      return Array.from({ length: 8 }, () => rng.next())
    }
    expect(draw(42)).toEqual(draw(42))
    expect(draw(42)).not.toEqual(draw(43))
  })

  it("next() stays in [0, 1) and int(n) in [0, n)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const rng = makeRng(seed)
        for (let k = 0; k < 50; k++) {
          const u = rng.next()
          expect(u >= 0 && u < 1).toBe(true)
          const i = rng.int(n)
          expect(Number.isInteger(i) && i >= 0 && i < n).toBe(true)
        }
      })
    )
  })

  it("permutation(n) is a permutation of 0..n-1", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 300 }), (seed, n) => {
        const p = makeRng(seed).permutation(n)
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
      })
    )
  })

  it("draws are roughly uniform", () => {
    const rng = makeRng(7)
    const bins = new Array(10).fill(0)
    for (let k = 0; k < 100_000; k++) bins[Math.floor(rng.next() * 10)]++
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500)
  })
})

describe("splitMnist without the authors' indices", () => {
  it("holds out round(n × 5000/60000) images, disjoint from train, and covering all of it", () => {
    const data = synthetic(600)
    const { train, val, test, trainIndices, valIndices, valSource } = splitMnist(data, 1)
    expect(valSource).toBe("seeded")
    expect(val.count).toBe(50)
    expect(train.count).toBe(550)
    expect(test).toBe(data.test)
    expect(originalIndices(train)).toEqual(trainIndices)
    expect(originalIndices(val)).toEqual(valIndices)
    expect([...trainIndices, ...valIndices].sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i))
    // Both parts keep index order, and labels travel with their images.
    expect(trainIndices).toEqual([...trainIndices].sort((a, b) => a - b))
    expect(valIndices).toEqual([...valIndices].sort((a, b) => a - b))
    expect(Array.from(val.labels)).toEqual(valIndices.map((i) => i % 10))
  })

  it("is the same for the same seed and different for another", () => {
    const data = synthetic(600)
    expect(splitMnist(data, 5).valIndices).toEqual(splitMnist(data, 5).valIndices)
    expect(splitMnist(data, 5).valIndices).not.toEqual(splitMnist(data, 6).valIndices)
  })

  it("partitions the training set for any size and seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer(), (n, seed) => {
        const { trainIndices, valIndices } = splitMnist(synthetic(n, 1), seed)
        expect(valIndices.length).toBe(Math.round((n * 5000) / 60000))
        const all = new Set([...trainIndices, ...valIndices])
        expect(all.size).toBe(n)
        expect(trainIndices.length + valIndices.length).toBe(n)
      })
    )
  })

  it("gives full MNIST 55,000 / 5,000", () => {
    const { train, val } = splitMnist(synthetic(60_000, 10), 0)
    expect(val.count).toBe(5000)
    expect(train.count).toBe(55_000)
  })

  it("honours explicit sizes and rejects invalid ones", () => {
    const data = synthetic(600, 30)
    const { train, val, test } = splitMnist(data, 1, { val: 100, train: 200, test: 7 })
    expect([train.count, val.count, test.count]).toEqual([200, 100, 7])
    expect(test.labels.length).toBe(7)
    expect(test.images.length).toBe(7 * MNIST_PIXELS)
    expect(splitMnist(data, 1, { val: 10_000 }).train.count).toBe(0)
    expect(() => splitMnist(data, 1, { val: -1 })).toThrow(RangeError)
    expect(() => splitMnist(data, 1, { train: 1.5 })).toThrow(RangeError)
  })
})

describe("splitMnist with the authors' indices", () => {
  it("uses exactly those images for validation whatever the seed, and the rest for training", () => {
    const authors = [17, 3, 250, 99, 0]
    const data = synthetic(300, 30, authors)
    const a = splitMnist(data, 1)
    const b = splitMnist(data, 2)
    expect(a.valSource).toBe("authors")
    expect(a.valIndices).toEqual(authors)
    expect(originalIndices(a.val)).toEqual(authors)
    expect(a.train.count).toBe(295)
    expect(originalIndices(a.train)).toEqual(
      Array.from({ length: 300 }, (_, i) => i).filter((i) => !authors.includes(i))
    )
    expect(b.valIndices).toEqual(a.valIndices)
    expect(b.trainIndices).toEqual(a.trainIndices)
  })

  it("a smaller validation size takes the first authors' indices and still keeps the others out of train", () => {
    const authors = [17, 3, 250, 99, 0]
    const { val, trainIndices } = splitMnist(synthetic(300, 30, authors), 1, { val: 2 })
    expect(originalIndices(val)).toEqual([17, 3])
    expect(trainIndices.some((i) => authors.includes(i))).toBe(false)
    expect(trainIndices.length).toBe(295)
  })
})

layer(NodeContext.layer)("splitMnist on the embedded set", (it) => {
  it.effect("gives 7,857 train / 714 validation / 1,429 test", () =>
    Effect.gen(function* () {
      const data = yield* loadEmbeddedMnist()
      const { train, val, test } = splitMnist(data, 0)
      expect([train.count, val.count, test.count]).toEqual([7857, 714, 1429])
    })
  )
})

describe("normalizeMnist", () => {
  it("applies (p/255 − 0.1307) / 0.3081 to every pixel", () => {
    expect(MNIST_MEAN).toBe(0.1307)
    expect(MNIST_STD).toBe(0.3081)
    const pixels = Uint8Array.from({ length: 256 }, (_, p) => p)
    const out = normalizeMnist(pixels)
    expect(out).toBeInstanceOf(Float32Array)
    expect(out.length).toBe(256)
    for (let p = 0; p < 256; p++) expect(out[p]).toBe(Math.fround((p / 255 - 0.1307) / 0.3081))
    expect(out[0]).toBeCloseTo(-0.4242, 4)
    expect(out[255]).toBeCloseTo(2.8215, 4)
  })
})
