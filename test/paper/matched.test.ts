/** Reading models at matched sparsity: the interpolation between λ levels and the results folders it reads. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { tableToArrowIpc } from "../../src/data/table.js"
import {
  atSparsity,
  matchPoints,
  readDenoiseCurves,
  readDenoisePoints,
  readPsnrCurves,
  readPsnrPoints
} from "../../src/pipeline/paper/matched.js"

/** Distinct zero fractions in (0, 1), sorted, with a value each. */
const curve = fc
  .uniqueArray(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 2, maxLength: 6 })
  .chain((zs) =>
    fc
      .array(fc.double({ min: 5, max: 40, noNaN: true }), { minLength: zs.length, maxLength: zs.length })
      .map((vs) => zs.map((zeros, i) => ({ zeros, value: vs[i] })))
  )

describe("atSparsity", () => {
  it("gives each level's own value at its sparsity, in any order of the levels", () =>
    fc.assert(
      fc.property(curve, (points) => {
        const shuffled = [...points].reverse()
        for (const p of points) expect(atSparsity(shuffled, p.zeros)).toBe(p.value)
      })
    ))

  it("lies between the two neighbouring levels, and on a straight line is the line", () =>
    fc.assert(
      fc.property(curve, fc.double({ min: 0, max: 1, noNaN: true }), (points, t) => {
        const sorted = [...points].sort((a, b) => a.zeros - b.zeros)
        const [a, b] = [sorted[0], sorted[1]]
        const z = a.zeros + t * (b.zeros - a.zeros)
        const v = atSparsity(points, z) as number
        expect(v).toBeGreaterThanOrEqual(Math.min(a.value, b.value) - 1e-9)
        expect(v).toBeLessThanOrEqual(Math.max(a.value, b.value) + 1e-9)
        const line = sorted.map((p) => ({ zeros: p.zeros, value: 3 - 7 * p.zeros }))
        expect(atSparsity(line, z)).toBeCloseTo(3 - 7 * z, 9)
      })
    ))

  it("reads nothing beyond the levels' range", () =>
    fc.assert(
      fc.property(curve, (points) => {
        const zs = points.map((p) => p.zeros)
        expect(atSparsity(points, Math.min(...zs) - 1e-3)).toBeNull()
        expect(atSparsity(points, Math.max(...zs) + 1e-3)).toBeNull()
      })
    ))
})

describe("the results folders", () => {
  const write = (dir: string, name: string, rows: ReadonlyArray<Record<string, number | string | null>>) =>
    writeFileSync(join(dir, name), tableToArrowIpc(rows as never))

  it.effect("reads curves and points and matches each point against its data set's curves at its own sparsity", () =>
    Effect.gen(function* () {
      const curves = mkdtempSync(join(tmpdir(), "curves-"))
      const points = mkdtempSync(join(tmpdir(), "points-"))
      const run = (model: string, lambda: number, epochs: number, zeros: number, psnr: number) => ({
        dataset: "mnist",
        run: `${model}-lambda${lambda}`,
        model,
        lambda,
        status: "finished",
        epochs,
        valPsnr: psnr,
        valZeroFraction: zeros
      })
      write(curves, "runs.arrow", [
        run("sdl", 0.005, 20, 0.8, 18),
        run("sdl", 0.01, 20, 0.9, 16),
        run("vdl", 0.01, 20, 0.85, 18),
        run("vdl", 0.02, 20, 0.95, 17),
        run("wdl", 0.005, 20, 0.9, 16.5)
      ])
      const noisy = (r: ReturnType<typeof run>, sigma: number, denoised: number) => ({
        dataset: r.dataset,
        run: r.run,
        model: r.model,
        lambda: r.lambda,
        codes: "encoder",
        sigma,
        denoisedPsnr: denoised,
        cleanZeroFraction: r.valZeroFraction
      })
      write(curves, "denoise.arrow", [
        noisy(run("sdl", 0.005, 20, 0.8, 18), 1, 17),
        noisy(run("sdl", 0.01, 20, 0.9, 16), 1, 15),
        noisy(run("sdl", 0.01, 20, 0.9, 16), 2, 11)
      ])
      write(points, "settings.arrow", [
        {
          dataset: "mnist",
          group: "spread",
          model: "vdl-nl",
          lambda: 0.01,
          epochs: 20,
          seeds: 3,
          valPsnrMean: 19,
          valPsnrStd: 0.1,
          valZeroMean: 0.875,
          valZeroStd: 0.002,
          stillImproving: 3
        }
      ])
      write(points, "denoise.arrow", [
        {
          dataset: "mnist",
          group: "spread",
          model: "vdl-nl",
          lambda: 0.01,
          epochs: 20,
          codes: "encoder",
          sigma: 1,
          seeds: 3,
          denoisedMean: 16,
          denoisedStd: 0.08,
          cleanZeroMean: 0.85,
          cleanZeroStd: 0.002
        }
      ])
      const psnr = matchPoints(yield* readPsnrPoints(points), yield* readPsnrCurves(curves))
      expect(psnr).toHaveLength(1)
      // WDL has one level: a point, not a curve.
      expect(psnr[0].curves.map((c) => [c.curve.model, c.value])).toEqual([
        ["sdl", 16.5],
        ["vdl", 17.75]
      ])
      const denoise = matchPoints(yield* readDenoisePoints(points, 1), yield* readDenoiseCurves(curves, 1))
      expect(denoise[0].point.stillImproving).toBe(3)
      expect(denoise[0].curves.map((c) => [c.curve.model, c.curve.epochs, c.value])).toEqual([["sdl", 20, 16]])
    })
  )

  it.effect("names the missing table and what to pass instead", () =>
    Effect.gen(function* () {
      const empty = mkdtempSync(join(tmpdir(), "empty-"))
      const error = yield* Effect.flip(readPsnrCurves(empty))
      expect(error.message).toContain(join(empty, "runs.arrow"))
      expect(error.message).toContain("sparse-vdl paper --results")
    })
  )
})
