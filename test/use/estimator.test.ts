/**
 * fit and the model it returns, through sparse-vdl/promise: a row's codes from transform do not
 * depend on the rows beside it (where the training energy's inference does), save and loadModel
 * give the same codes back, partialFit moves the model, and an AbortSignal stops a run that
 * `resume` then finishes.
 */
import * as tf from "@tensorflow/tfjs-core"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { fit as fitModel, loadModel } from "../../src/promise.js"

/** 600 images of 8×8 pixels, each three of ten sparse non-negative atoms, in [0, 1]. */
const synthetic = (count: number, seed: number): number[][] => {
  let state = seed
  const u = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32
  const atoms = Array.from({ length: 10 }, () => Array.from({ length: 64 }, () => (u() < 0.3 ? u() : 0)))
  return Array.from({ length: count }, () => {
    const row = new Array<number>(64).fill(0)
    for (let k = 0; k < 3; k++) {
      const atom = atoms[Math.floor(u() * 10)]!
      const weight = 0.2 + 0.3 * u()
      for (let p = 0; p < 64; p++) row[p] = Math.min(1, row[p]! + weight * atom[p]!)
    }
    return row
  })
}

const rows = synthetic(600, 7)
const small = { codeDim: 32, batchSize: 50, lambda: 0.002 }
const codeRow = (codes: Float32Array, r: number, l: number) => Array.from(codes.subarray(r * l, (r + 1) * l))
const maxDifference = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

/**
 * Matrix products of a different number of rows may round differently (a BLAS picks its kernel
 * by shape), so "the same codes" is up to that rounding: far below what the batch terms move.
 */
const ROUNDING = 1e-5

describe("fit and transform", () => {
  it("gives a row the same codes alone or among others, where the training energy's inference does not; save and loadModel keep them", async () => {
    const model = await fitModel(rows, {
      model: "vdl",
      epochs: 2,
      seed: 1,
      validationFraction: 0.1,
      settings: small,
      backend: "wasm",
      log: "none"
    })
    const l = model.codeDim
    expect(model.report.rows).toEqual({ train: 540, val: 60 })
    const all = await model.transform(rows)
    let transformed = 0
    for (const r of [2, 5, 599]) {
      transformed = Math.max(
        transformed,
        maxDifference(codeRow(await model.transform([rows[r]!]), 0, l), codeRow(all, r, l))
      )
      transformed = Math.max(
        transformed,
        maxDifference(codeRow(await model.transform(rows.slice(r - 2, r + 1)), 2, l), codeRow(all, r, l))
      )
    }
    // The variance hinge (β = 10) makes infer's codes a batch's: the property above is not free.
    const flat = Float32Array.from(rows.flat())
    const inferredAll = await model.infer(flat)
    const inferredAlone = await model.infer(flat.subarray(5 * 64, 6 * 64))
    const inferred = maxDifference(codeRow(inferredAlone, 0, l), codeRow(inferredAll, 5, l))
    console.info(
      `largest change of a code when its row is transformed alone: ${transformed}; inferred alone (training energy): ${inferred}`
    )
    expect(transformed).toBeLessThan(ROUNDING)
    expect(inferred).toBeGreaterThan(100 * ROUNDING)

    const score = await model.score(rows)
    expect(score.zeroFraction).toBeGreaterThan(0)
    expect(score.zeroFraction).toBeLessThan(1)
    expect(Number.isFinite(score.psnr) && Number.isFinite(score.energy)).toBe(true)
    const back = await model.inverseTransform(all)
    expect(back.length).toBe(600 * 64)
    expect(model.components).toHaveLength(l)
    expect(model.components[0]).toHaveLength(64)

    const before = model.components[0]!.slice()
    const figures = await model.partialFit(rows.slice(0, 120))
    expect(Number.isFinite(figures.energy)).toBe(true)
    expect(Array.from(model.components[0]!)).not.toEqual(Array.from(before))

    const dir = mkdtempSync(join(tmpdir(), "estimator-"))
    const codes = await model.transform(rows)
    await model.save(dir)
    const loaded = await loadModel(dir, { backend: "wasm", log: "none" })
    expect(Array.from(await loaded.transform(rows))).toEqual(Array.from(codes))
    await loaded.dispose()
    await model.dispose()
    expect(tf.memory().numTensors).toBe(0)
  }, 120_000)

  it("stops at an AbortSignal, leaving a checkpoint that resume finishes", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "estimator-abort-")), "run")
    const controller = new AbortController()
    const options = { model: "sdl", epochs: 3, seed: 2, settings: small, backend: "wasm", log: "none", out } as const
    await expect(
      fitModel(rows, {
        ...options,
        signal: controller.signal,
        onEpoch: (e) => (e.epoch === 1 ? controller.abort(new Error("enough")) : undefined)
      })
    ).rejects.toThrow("enough")
    expect(existsSync(join(out, "last.safetensors"))).toBe(true)
    expect(existsSync(join(out, "summary.json"))).toBe(false)
    const model = await fitModel(rows, { ...options, resume: true })
    expect(model.report.epochs).toBe(3)
    expect(model.report.run?.epochs).toBe(3)
    await model.dispose()
  }, 120_000)

  it("targetSparsity chooses λ by a search whose run lands within 0.02 of the target, and summary.json records it", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "estimator-sparsity-")), "run")
    const model = await fitModel(rows, {
      model: "sdl",
      epochs: 3,
      seed: 3,
      settings: { codeDim: 32, batchSize: 50 },
      targetSparsity: 0.6,
      backend: "wasm",
      log: "none",
      out
    })
    const search = model.report.lambdaSearch!
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      settings: { lambda: number }
      val: { zeroFraction: number }
      data: { targetSparsity: number; lambdaSearch: Array<{ lambda: number; zeroFraction: number }> }
    }
    console.info(
      `targetSparsity 0.6: tries ${JSON.stringify(search.tries)}; the run's validation zero fraction ${summary.val.zeroFraction}`
    )
    expect(summary.settings.lambda).toBe(search.lambda)
    expect(summary.data.targetSparsity).toBe(0.6)
    expect(summary.data.lambdaSearch).toEqual(search.tries)
    // The preset's λ (0.005) is not the answer here: the search moved it.
    expect(search.tries.length).toBeGreaterThan(1)
    expect(Math.abs(summary.val.zeroFraction - 0.6)).toBeLessThanOrEqual(0.02)
    await model.dispose()
  }, 240_000)
})
