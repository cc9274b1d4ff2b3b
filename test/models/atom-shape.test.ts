import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { atomShapes, isEdgeLike, summariseAtomShapes } from "../../src/models/atom-shape.js"
import { makeRng } from "../../src/data/random.js"
import { between } from "../helpers/between.js"

const N = 28

interface Gabor {
  /** Direction of the edge in degrees, counter-clockwise from the x axis as the image is shown. */
  readonly degrees: number
  readonly sigma: number
  readonly wavelength: number
  readonly phase: number
  readonly cx: number
  readonly cy: number
}

/** A Gabor atom: stripes along `degrees` under a Gaussian envelope (rows go downwards). */
const gabor = (g: Gabor, size = N): Float32Array => {
  const t = (g.degrees * Math.PI) / 180
  const out = new Float32Array(size * size)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - g.cx
      const dy = y - g.cy
      // Distance across the edge: along the normal of the direction (cos t, −sin t) in row-down coordinates.
      const across = dx * Math.sin(t) + dy * Math.cos(t)
      out[y * size + x] =
        Math.exp(-(dx * dx + dy * dy) / (2 * g.sigma * g.sigma)) *
        Math.cos((2 * Math.PI * across) / g.wavelength + g.phase)
    }
  }
  return out
}

const gaborArb = fc.record({
  degrees: between(0, 180),
  sigma: between(2.5, 5),
  wavelength: between(5, 10),
  phase: between(0, 2 * Math.PI),
  cx: between(9, 18),
  cy: between(9, 18)
})

const angleGap = (a: number, b: number) => {
  const d = Math.abs(a - b) % 180
  return Math.min(d, 180 - d)
}

const shapesOf = (atoms: Float32Array[], size = N) => {
  const all = new Float32Array(atoms.length * size * size)
  atoms.forEach((a, i) => all.set(a, i * size * size))
  return atomShapes(all, atoms.length, size, size)
}

describe("atom shape statistics", () => {
  it("find a Gabor's orientation, call it oriented and localised", () => {
    fc.assert(
      fc.property(gaborArb, (g) => {
        const s = shapesOf([gabor(g)])
        expect(angleGap(s.orientation[0], g.degrees)).toBeLessThan(4)
        expect(s.orientedness[0]).toBeGreaterThan(0.5)
        expect(s.localisation[0]).toBeGreaterThan(0.3)
        expect(isEdgeLike(s, 0)).toBe(true)
      }),
      { numRuns: 150, seed: 11 }
    )
  })

  it("name the screen directions as a person reads them", () => {
    const base = { sigma: 4, wavelength: 8, phase: 0.3, cx: 13.5, cy: 13.5 }
    const s = shapesOf([0, 45, 90, 135].map((degrees) => gabor({ ...base, degrees })))
    // A horizontal edge, one rising to the right, a vertical one, one falling to the right.
    for (const [i, want] of [0, 45, 90, 135].entries()) expect(angleGap(s.orientation[i], want)).toBeLessThan(1)
  })

  it("do not depend on the atom's sign, scale or constant offset", () => {
    fc.assert(
      fc.property(gaborArb, between(0.01, 100), fc.constantFrom(1, -1), between(-5, 5), (g, scale, sign, offset) => {
        const a = gabor(g)
        const b = a.map((v) => sign * scale * v + offset)
        const s = shapesOf([a, b])
        expect(s.orientedness[1]).toBeCloseTo(s.orientedness[0], 3)
        expect(s.localisation[1]).toBeCloseTo(s.localisation[0], 3)
        expect(angleGap(s.orientation[1], s.orientation[0])).toBeLessThan(0.1)
      }),
      { numRuns: 60, seed: 12 }
    )
  })

  it("turn with the atom: its transpose has the mirrored orientation and the same figures", () => {
    fc.assert(
      fc.property(gaborArb, (g) => {
        const a = gabor(g)
        const t = new Float32Array(N * N)
        for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) t[x * N + y] = a[y * N + x]
        const s = shapesOf([a, t])
        // Swapping x and y mirrors about the falling diagonal: θ ↦ 270° − θ, that is 90° − θ mod 180.
        expect(angleGap(s.orientation[1], 90 - s.orientation[0])).toBeLessThan(0.1)
        expect(s.orientedness[1]).toBeCloseTo(s.orientedness[0], 4)
        expect(s.localisation[1]).toBeCloseTo(s.localisation[0], 4)
      }),
      { numRuns: 60, seed: 13 }
    )
  })

  it("score an isotropic blob as not oriented, a grating as not localised, noise as neither", () => {
    const blob = new Float32Array(N * N)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) blob[y * N + x] = Math.exp(-((x - 13.5) ** 2 + (y - 13.5) ** 2) / 8)
    const grating = gabor({ degrees: 30, sigma: 1e6, wavelength: 7, phase: 0, cx: 13.5, cy: 13.5 })
    const rng = makeRng(3)
    const noise = Array.from({ length: 64 }, () => Float32Array.from({ length: N * N }, () => rng.next() - 0.5))
    const s = shapesOf([blob, grating, ...noise])
    // The Hann window and the blob share their centre, so the spectrum has the square's symmetry.
    expect(s.orientedness[0]).toBeLessThan(1e-6)
    expect(s.localisation[0]).toBeGreaterThan(0.5)
    expect(s.orientedness[1]).toBeGreaterThan(0.9)
    expect(s.localisation[1]).toBeLessThan(0.15)
    const noiseSummary = summariseAtomShapes({
      orientedness: s.orientedness.subarray(2),
      orientation: s.orientation.subarray(2),
      localisation: s.localisation.subarray(2)
    })
    expect(noiseSummary.edgeLikeFraction).toBe(0)
    expect(noiseSummary.medianOrientedness).toBeLessThan(0.2)
    expect(noiseSummary.medianLocalisation).toBeLessThan(0.2)
    expect([0, 1].map((i) => isEdgeLike(s, i))).toEqual([false, false])
  })

  it("take atoms of any size and refuse a layout that is not one", () => {
    const small = gabor({ degrees: 60, sigma: 2.5, wavelength: 5, phase: 0, cx: 7.5, cy: 7.5 }, 16)
    const s = shapesOf([small], 16)
    expect(angleGap(s.orientation[0], 60)).toBeLessThan(4)
    expect(() => atomShapes(new Float32Array(10), 1, 28, 28)).toThrow(/10 values are not 1 atoms of 28×28/)
  })
})
