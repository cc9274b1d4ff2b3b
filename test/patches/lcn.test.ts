import * as tf from "@tensorflow/tfjs-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  CROP_SIZE,
  gaussian1d,
  keepPatch,
  lcnToPixels,
  lcnToPixelsHost,
  localContrastNormalize,
  makeLcn,
  PATCH_SIZE
} from "../../src/models/lcn.js"
import { between } from "../helpers/between.js"
import { expectClose, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()

const N = CROP_SIZE
const P = PATCH_SIZE

/**
 * The LCN of docs/method.md written out directly, in float64, with none of the library's
 * shortcuts: a 2-D 13×13 kernel from its formula, full 2-D sums, explicit index arithmetic.
 */
const reference = (pixels: ArrayLike<number>, level: number | null = null) => {
  const kernel: number[][] = []
  let total = 0
  for (let dy = 0; dy < 13; dy++) {
    kernel.push([])
    for (let dx = 0; dx < 13; dx++) {
      const w = Math.exp(-((dy - 6) ** 2 + (dx - 6) ** 2) / (2 * 5 * 5))
      kernel[dy].push(w)
      total += w
    }
  }
  const conv = (img: number[][]) => {
    const m = img.length - 12
    return Array.from({ length: m }, (_, r) =>
      Array.from({ length: m }, (_, c) => {
        let acc = 0
        for (let dy = 0; dy < 13; dy++)
          for (let dx = 0; dx < 13; dx++) acc += (kernel[dy][dx] / total) * img[r + dy][c + dx]
        return acc
      })
    )
  }
  const x = Array.from({ length: N }, (_, r) =>
    Array.from({ length: N }, (_, c) => (pixels[r * N + c] - 0.457) / 0.259)
  )
  const mu = conv(x) // 40×40
  const centred = mu.map((row, r) => row.map((m, c) => x[r + 6][c + 6] - m))
  const rawS = conv(centred.map((row) => row.map((v) => v * v))).map((row) => row.map(Math.sqrt)) // 28×28
  const meanS = rawS.flat().reduce((a, b) => a + b, 0) / (P * P)
  const s = rawS.map((row) => row.map((v) => Math.max(Math.max(v, level ?? meanS), 1e-4)))
  const patch = s.map((row, r) => row.map((v, c) => centred[r + 6][c + 6] / v))
  const flat = patch.flat()
  const avg = flat.reduce((a, b) => a + b, 0) / flat.length
  const std = Math.sqrt(flat.reduce((a, b) => a + (b - avg) ** 2, 0) / (flat.length - 1))
  return {
    patch: flat,
    mean: mu.slice(6, 34).flatMap((row) => row.slice(6, 34)),
    scale: s.flat(),
    rawS: rawS.flat(),
    meanS,
    std
  }
}

const image = (f: (r: number, c: number) => number) =>
  Float32Array.from({ length: N * N }, (_, i) => f(Math.floor(i / N), i % N))

const expectMatchesReference = (pixels: Float32Array, level: number | null = null) => {
  const got = localContrastNormalize(pixels, level)
  const want = reference(pixels, level)
  expectClose(got.mean, want.mean, 1e-6, 1e-6, "μ")
  expectClose(got.scale, want.scale, 1e-6, 1e-7, "s")
  expectClose(got.patch, want.patch, 1e-5, 1e-5, "patch")
  expect(got.std).toBeCloseTo(want.std, 5)
  expect(got.scaleMean).toBeCloseTo(want.meanS, 6)
  return { got, want }
}

describe("LCN", () => {
  it("has the paper's geometry: 52×52 crop, 40×40 μ, 28×28 patch, kernel summing to 1", () => {
    const out = localContrastNormalize(new Float32Array(N * N).fill(0.5))
    expect([out.patch.length, out.mean.length, out.scale.length]).toEqual([784, 784, 784])
    const g = gaussian1d()
    expect(g.length).toBe(13)
    expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15)
    // σ = 5: the tap 5 away from the centre is e^{-1/2} of the centre tap.
    expect(g[1] / g[6]).toBeCloseTo(Math.exp(-0.5), 12)
    expect(() => localContrastNormalize(new Float32Array(10))).toThrow(/52×52/)
  })

  it("maps a constant image to a zero patch whose scale is the 1e-4 floor", () => {
    for (const v of [0, 0.3, 0.457, 1]) {
      const out = localContrastNormalize(new Float32Array(N * N).fill(v))
      const normalised = (v - 0.457) / 0.259
      for (const m of out.mean) expect(m).toBeCloseTo(normalised, 5)
      // c = x − μ is zero up to rounding (≈1e-16), s floors at 1e-4, so the patch is ≈1e-12.
      for (const s of out.scale) expect(s).toBe(Math.fround(1e-4))
      for (const p of out.patch) expect(Math.abs(p)).toBeLessThan(1e-9)
      expect(out.std).toBeLessThan(1e-9)
      expect(keepPatch(out)).toBe(false)
    }
  })

  it("on a single vertical edge matches the closed form of μ and the direct computation", () => {
    // Dark left of column 26, bright from it on: the image varies along columns only, so each
    // patch row is the same and μ is a 1-D sum of the Gaussian taps that reach the bright side.
    const [lo, hi] = [0.2, 0.8]
    const pixels = image((_, c) => (c < 26 ? lo : hi))
    const { got } = expectMatchesReference(pixels)
    const g = gaussian1d()
    const xLo = (lo - 0.457) / 0.259
    const xHi = (hi - 0.457) / 0.259
    for (let c = 0; c < P; c++) {
      // Patch column c is crop column c+12, whose μ averages crop columns c+6 … c+18.
      let bright = 0
      for (let t = 0; t < 13; t++) if (c + 6 + t >= 26) bright += g[t]
      const mu = xLo + (xHi - xLo) * bright
      for (let r = 0; r < P; r++) {
        expect(got.mean[r * P + c]).toBeCloseTo(mu, 5)
        expect(got.patch[r * P + c]).toBeCloseTo(got.patch[c], 5)
      }
    }
    // The edge sits halfway across the patch: the patch is antisymmetric about it, s symmetric.
    for (let c = 0; c < P / 2; c++) {
      expect(got.patch[c]).toBeCloseTo(-got.patch[P - 1 - c], 4)
      expect(got.scale[c]).toBeCloseTo(got.scale[P - 1 - c], 5)
    }
    expect(got.patch[P / 2 - 1]).toBeLessThan(0)
    expect(got.patch[P / 2]).toBeGreaterThan(0)
    // Far from the edge c is 0 and s is raised to its mean: the mean of s wins there.
    const raw = reference(pixels).rawS
    const meanS = raw.reduce((a, b) => a + b, 0) / raw.length
    expect(got.scale[0]).toBeCloseTo(meanS, 6)
    expect(Math.min(...got.scale)).toBeCloseTo(meanS, 6)
    expect(keepPatch(got)).toBe(true)
  })

  it("on a Gaussian blob matches the direct computation and keeps its radial symmetry", () => {
    const centre = (N - 1) / 2
    const pixels = image((r, c) => 0.3 + 0.5 * Math.exp(-((r - centre) ** 2 + (c - centre) ** 2) / (2 * 6 * 6)))
    const { got } = expectMatchesReference(pixels)
    for (let r = 0; r < P; r++) {
      for (let c = 0; c < P; c++) {
        const v = got.patch[r * P + c]
        expect(got.patch[c * P + r]).toBeCloseTo(v, 4)
        expect(got.patch[(P - 1 - r) * P + c]).toBeCloseTo(v, 4)
        expect(got.patch[r * P + (P - 1 - c)]).toBeCloseTo(v, 4)
      }
    }
    // A bright blob on a dark ground: the patch is positive in the middle, negative at the rim.
    expect(got.patch[(P / 2) * P + P / 2]).toBeGreaterThan(0)
    expect(got.patch[0]).toBeLessThan(0)
  })

  it("matches the direct computation on random crops, and the filter uses the unbiased std", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (seed, contrast) => {
          const rng = seeded(seed)
          const pixels = image(() => 0.5 + contrast * (rng.next() - 0.5))
          const { got, want } = expectMatchesReference(pixels)
          expect(keepPatch(got)).toBe(want.std >= 0.5)
        }
      ),
      { numRuns: 15 }
    )
  })

  it("with a data-wide level raises s to that level instead of the crop's mean, which it still reports", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        between(0, 3),
        (seed, contrast, level) => {
          const rng = seeded(seed)
          const pixels = image(() => 0.5 + contrast * (rng.next() - 0.5))
          const { got, want } = expectMatchesReference(pixels, level)
          for (let i = 0; i < got.scale.length; i++)
            expect(got.scale[i]).toBeCloseTo(Math.max(want.rawS[i], level, 1e-4), 6)
          expect(keepPatch(got)).toBe(want.std >= 0.5)
        }
      ),
      { numRuns: 15 }
    )
  })

  it("keeps a faint edge at unit contrast with its own level, and lets the filter drop it under a data-wide one", () => {
    // The same edge at 1/40 of the contrast: its own mean of s shrinks with it, so its patch is
    // the same; under a level measured on the strong crop every s of the faint one is that level.
    const strong = image((_, c) => (c < 26 ? 0.2 : 0.8))
    const faint = image((_, c) => (c < 26 ? 0.4925 : 0.5075))
    const own = [localContrastNormalize(strong), localContrastNormalize(faint)]
    expectClose(own[1].patch, own[0].patch, 1e-3, 1e-3, "faint vs strong, own level")
    expect(keepPatch(own[1])).toBe(true)
    const level = own[0].scaleMean
    const shared = [localContrastNormalize(strong, level), localContrastNormalize(faint, level)]
    expect(shared[0].patch).toEqual(own[0].patch)
    for (const v of shared[1].scale) expect(v).toBeCloseTo(level, 6)
    expect(shared[1].std).toBeLessThan(own[0].std / 10)
    expect(keepPatch(shared[0])).toBe(true)
    expect(keepPatch(shared[1])).toBe(false)
  })

  it("reads a crop in place from a larger image", () => {
    const rng = seeded(3)
    const width = 70
    const big = Float32Array.from({ length: 60 * width }, () => rng.next())
    const [top, left] = [5, 11]
    const crop = Float32Array.from({ length: N * N }, (_, i) => big[(top + Math.floor(i / N)) * width + left + (i % N)])
    const a = makeLcn()({ pixels: big, width, top, left })
    const b = localContrastNormalize(crop)
    expect(a.patch).toEqual(b.patch)
    expect(a.mean).toEqual(b.mean)
    expect(a.scale).toEqual(b.scale)
  })

  it("maps patches back to the pixels of the crop's centre, on the host and on tensors", () => {
    const rng = seeded(11)
    const crops = [image(() => rng.next()), image((r, c) => (c < 26 ? 0.1 : 0.9)), new Float32Array(N * N).fill(0.7)]
    const outs = crops.map((crop) => localContrastNormalize(crop))
    const centre = (crop: Float32Array) =>
      Float32Array.from({ length: P * P }, (_, i) => crop[(12 + Math.floor(i / P)) * N + 12 + (i % P)])
    outs.forEach((o, k) =>
      expectClose(lcnToPixelsHost(o.patch, o.mean, o.scale), centre(crops[k]), 0, 2e-6, `crop ${k} on the host`)
    )
    const stack = (key: "patch" | "mean" | "scale") =>
      tf.tensor2d(Float32Array.from(outs.flatMap((o) => [...o[key]])), [outs.length, P * P])
    const [x, m, s] = [stack("patch"), stack("mean"), stack("scale")]
    const pixels = lcnToPixels(x, m, s)
    const flat = pixels.dataSync()
    outs.forEach((_, k) =>
      expectClose(flat.subarray(k * P * P, (k + 1) * P * P), centre(crops[k]), 0, 2e-6, `crop ${k} on tensors`)
    )
    tf.dispose([x, m, s, pixels])
  })
})
