import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { PNG } from "pngjs"
import { NON_FINITE_RGB, imageGridPng, pairsGridPng, rowsGridPng } from "../../src/data/image-grid.js"

const decode = (bytes: Uint8Array) => {
  const png = PNG.sync.read(Buffer.from(bytes))
  const at = (x: number, y: number) => {
    const p = (y * png.width + x) * 4
    return [png.data[p], png.data[p + 1], png.data[p + 2], png.data[p + 3]]
  }
  const grey = (x: number, y: number) => {
    const [r, g, b, a] = at(x, y)
    expect([g, b, a]).toEqual([r, r, 255])
    return r
  }
  return { width: png.width, height: png.height, at, grey }
}

describe("imageGridPng", () => {
  it("symmetric scaling: 0 is mid-grey, +max white, -max black, per image", () => {
    // Two 2×3 images with very different scales.
    const images = new Float32Array([0, 0.5, 1, -1, -0.25, 0, /**/ 0, 50, -100, 100, 0, 0])
    const png = decode(
      imageGridPng(images, { count: 2, height: 2, width: 3, columns: 2, scaling: "per-image-symmetric", pad: 1 })
    )
    // 2 tiles of 3 wide, gaps of 1 around and between.
    expect([png.width, png.height]).toEqual([1 + 3 + 1 + 3 + 1, 1 + 2 + 1])
    const tile = (t: number, x: number, y: number) => png.grey(1 + t * 4 + x, 1 + y)
    expect(tile(0, 0, 0)).toBe(128)
    expect(tile(0, 2, 0)).toBe(255)
    expect(tile(0, 0, 1)).toBe(0)
    expect(tile(0, 1, 0)).toBe(191) // 127.5 · 1.5
    expect(tile(1, 2, 0)).toBe(0)
    expect(tile(1, 0, 1)).toBe(255)
    expect(tile(1, 1, 0)).toBe(191)
    // Padding: default dark grey in symmetric mode, distinct from the zero level.
    for (const [x, y] of [
      [0, 0],
      [4, 1],
      [8, 3],
      [5, 0]
    ] as const)
      expect(png.grey(x, y)).toBe(64)
  })

  it("an all-zero image is mid-grey, not NaN-black", () => {
    const png = decode(
      imageGridPng(new Float32Array(4), { count: 1, height: 2, width: 2, scaling: "per-image-symmetric", pad: 0 })
    )
    expect([png.width, png.height]).toEqual([2, 2])
    expect([png.grey(0, 0), png.grey(1, 1)]).toEqual([128, 128])
  })

  it("range scaling clips and maps linearly; padding colour and zoom are honoured", () => {
    const images = new Float32Array([-1, 0, 0.5, 2])
    const png = decode(
      imageGridPng(images, {
        count: 1,
        height: 2,
        width: 2,
        scaling: "range",
        range: [0, 1],
        pad: 2,
        zoom: 3,
        padValue: 200
      })
    )
    expect([png.width, png.height]).toEqual([2 + 6 + 2, 2 + 6 + 2])
    const px = (x: number, y: number) => png.grey(2 + x, 2 + y)
    for (let d = 0; d < 3; d++) {
      expect(px(d, 2 - d)).toBe(0) // -1 clipped to 0
      expect(px(3 + d, d)).toBe(0)
      expect(px(d, 3 + d)).toBe(128) // 0.5 → 127.5 rounds up
      expect(px(3 + d, 5 - d)).toBe(255) // 2 clipped to 1
    }
    expect(png.grey(0, 0)).toBe(200)
    expect(png.grey(9, 9)).toBe(200)
  })

  it("fills cells past the last image with padding and picks a roughly square layout", () => {
    const png = decode(imageGridPng(new Float32Array(5).fill(1), { count: 5, height: 1, width: 1, scaling: "range" }))
    // ceil(sqrt(5)) = 3 columns, 2 rows.
    expect([png.width, png.height]).toEqual([7, 5])
    expect(png.grey(1, 1)).toBe(255)
    expect(png.grey(3, 3)).toBe(255) // image 4 is second row, second column
    expect(png.grey(5, 3)).toBe(128) // empty cell
  })

  it("is written as an 8-bit grey PNG, and as colour only when a non-finite value is marked", () => {
    const finite = PNG.sync.read(
      Buffer.from(
        imageGridPng(new Float32Array([0, 1, -1, 0.5]), {
          count: 1,
          height: 2,
          width: 2,
          scaling: "per-image-symmetric",
          pad: 0
        })
      )
    )
    const marked = PNG.sync.read(
      Buffer.from(
        imageGridPng(new Float32Array([NaN, 1, -1, 0.5]), {
          count: 1,
          height: 2,
          width: 2,
          scaling: "per-image-symmetric",
          pad: 0
        })
      )
    )
    expect([finite.colorType, finite.depth]).toEqual([0, 8])
    expect(marked.colorType).toBe(2)
  })

  it("draws non-finite values in red", () => {
    const png = decode(
      imageGridPng(new Float32Array([NaN, 1, Infinity, -1]), {
        count: 1,
        height: 2,
        width: 2,
        scaling: "per-image-symmetric",
        pad: 0
      })
    )
    expect(png.at(0, 0)).toEqual([...NON_FINITE_RGB, 255])
    expect(png.at(0, 1)).toEqual([...NON_FINITE_RGB, 255])
    expect(png.grey(1, 0)).toBe(255) // scale comes from the finite values only
    expect(png.grey(1, 1)).toBe(0)
  })

  it("rejects inconsistent sizes and bad options with a message", () => {
    const opts = { count: 2, height: 2, width: 2, scaling: "range" } as const
    expect(() => imageGridPng(new Float32Array(7), opts)).toThrow(/7 values, expected .* = 8/)
    expect(() => imageGridPng(new Float32Array(8), { ...opts, zoom: 0 })).toThrow(/zoom/)
    expect(() => imageGridPng(new Float32Array(8), { ...opts, range: [1, 1] })).toThrow(/range/)
    expect(() => imageGridPng(new Float32Array(0), { ...opts, count: 0 })).toThrow(/count/)
    expect(() => rowsGridPng([], opts)).toThrow(/no image sets/)
  })

  it("symmetric scaling always reaches 0 or 255 at the largest |value| and keeps signs (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
          minLength: 16,
          maxLength: 16
        }),
        (h, w, values) => {
          const image = new Float32Array(values.slice(0, h * w))
          const png = decode(
            imageGridPng(image, { count: 1, height: h, width: w, scaling: "per-image-symmetric", pad: 0 })
          )
          let maxAbs = 0
          for (const v of image) maxAbs = Math.max(maxAbs, Math.abs(v))
          for (let i = 0; i < h * w; i++) {
            const g = png.grey(i % w, Math.floor(i / w))
            const v = image[i]
            if (maxAbs > 0 && Math.abs(v) === maxAbs) expect(g).toBe(v > 0 ? 255 : 0)
            if (v === 0) expect(g).toBe(128)
            if (v > 0) expect(g).toBeGreaterThanOrEqual(128)
            if (v < 0) expect(g).toBeLessThanOrEqual(128)
          }
        }
      )
    )
  })
})

describe("pairsGridPng / rowsGridPng", () => {
  it("puts image i of a beside image i of b, groups set apart by a wider gap", () => {
    const a = new Float32Array([0, 1, 0.5]) // three 1×1 images
    const b = new Float32Array([1, 0, 0.25])
    const png = decode(
      pairsGridPng(a, b, { count: 3, height: 1, width: 1, columns: 3, scaling: "range", range: [0, 1], pad: 1 })
    )
    // Group = a | pad | b = 3 wide; group gap = 3 × pad = 3.
    expect([png.width, png.height]).toEqual([3 + 3 * 3 + 3 * 3, 3 + 1 + 3])
    const a0 = 3,
      stride = 6
    expect([0, 1, 2].map((i) => [png.grey(a0 + i * stride, 3), png.grey(a0 + i * stride + 2, 3)])).toEqual([
      [0, 255],
      [255, 0],
      [128, 64]
    ])
    expect(png.grey(a0 + 1, 3)).toBe(128) // pad inside a pair
    expect(png.grey(a0 + 3, 3)).toBe(128) // gap between pairs
  })

  it("lays out triples (clean | noisy | denoised) in rows of groups", () => {
    const one = (v: number) => new Float32Array([v, v, v, v])
    const png = decode(
      rowsGridPng([one(0), one(0.5), one(1)], {
        count: 4,
        height: 1,
        width: 1,
        columns: 2,
        scaling: "range",
        pad: 0,
        groupPad: 1
      })
    )
    expect([png.width, png.height]).toEqual([1 + 3 + 1 + 3 + 1, 1 + 1 + 1 + 1 + 1])
    expect([1, 2, 3].map((x) => png.grey(x, 3))).toEqual([0, 128, 255])
    expect([5, 6, 7].map((x) => png.grey(x, 3))).toEqual([0, 128, 255])
  })

  it("rejects sets of different sizes", () => {
    expect(() =>
      pairsGridPng(new Float32Array(4), new Float32Array(3), {
        count: 1,
        height: 2,
        width: 2,
        scaling: "per-image-symmetric"
      })
    ).toThrow(/set 1 has 3 values/)
  })
})
