/**
 * Synthetic ground truth: data made from a known unit-norm dictionary and
 * sparse non-negative codes. Inference must recover the codes, and training must recover the
 * atoms up to permutation and scale.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import {
  denseReconstructionTerm as reconstructionTerm,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder
} from "../../src/models/decoders/dense.js"
import { fista } from "../../src/models/inference/fista.js"
import { libraryEnergy } from "../helpers/problems.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { affineToPixels } from "../../src/models/metrics.js"
import { disposeModel, makeModel, trainStep } from "../../src/models/model.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { matMulHost, seeded, sparseCodes, toFlat, unitNormDictionary, useTestBackend } from "../helpers/tf.js"

useTestBackend()

/** |cos| between row i of A (rA×d) and row j of B, for all pairs. */
const absCosines = (A: ArrayLike<number>, rA: number, B: ArrayLike<number>, rB: number, d: number): number[][] => {
  const norm = (M: ArrayLike<number>, i: number) =>
    Math.sqrt(Array.from({ length: d }, (_, q) => M[i * d + q] ** 2).reduce((a, b) => a + b, 0))
  return Array.from({ length: rA }, (_, i) =>
    Array.from({ length: rB }, (_, j) => {
      let dot = 0
      for (let q = 0; q < d; q++) dot += A[i * d + q] * B[j * d + q]
      return Math.abs(dot) / (norm(A, i) * norm(B, j) || 1)
    })
  )
}

describe("synthetic ground truth", () => {
  it("(a) FISTA recovers sparse codes of a known unit-norm dictionary (d = 64, l = 16, 2–3 non-zeros in [1, 2])", () => {
    const d = 64
    const l = 16
    const n = 100
    const rng = seeded(7)
    const atoms = unitNormDictionary(rng, l, d)
    const codes = sparseCodes(rng, n, l, { nonZeros: [2, 3], low: 1, high: 2 })
    const x = Float32Array.from(matMulHost(codes, atoms, n, l, d))
    const dec = makeDecoder(rng, l, [], d, tfjsLinalg)
    dec.layers[0].W.assign(tf.tensor2d(atoms, [l, d]))
    const xt = tf.tensor2d(x, [n, d])
    const zeros = tf.zeros([n, l]) as tf.Tensor2D
    const w = libraryEnergy({ lambda: 1e-3, beta: 0, tau: 0.5, gamma: 0 })
    const term = reconstructionTerm(dec, xt)
    try {
      const result = fista.infer(term, zeros, zeros, w, { maxSteps: 2000, tol: 1e-6, step: { kind: "lipschitz" } })
      const z = toFlat(result.codes)
      result.codes.dispose()
      let missed = 0
      let spurious = 0
      let largestSpurious = 0
      let worstRelative = 0
      let exactSupports = 0
      for (let i = 0; i < n; i++) {
        let exact = true
        for (let j = 0; j < l; j++) {
          const q = i * l + j
          if (codes[q] > 0) {
            if (z[q] === 0) {
              missed++
              exact = false
            }
            worstRelative = Math.max(worstRelative, Math.abs(z[q] - codes[q]) / codes[q])
          } else if (z[q] > 0) {
            spurious++
            exact = false
            largestSpurious = Math.max(largestSpurious, z[q])
          }
        }
        if (exact) exactSupports++
      }
      console.log(
        `synthetic codes: ${exactSupports}/${n} exact supports, ${missed} missed, ${spurious} spurious non-zeros (largest ${largestSpurious.toFixed(4)}), ` +
          `worst relative value error ${(100 * worstRelative).toFixed(2)}%, mean FISTA steps ${result.meanSteps.toFixed(1)}, iterations ${result.iterations}`
      )
      expect(missed).toBe(0)
      expect(exactSupports).toBeGreaterThanOrEqual(0.95 * n)
      expect(largestSpurious).toBeLessThan(0.05)
      expect(worstRelative).toBeLessThan(0.05)
    } finally {
      term.dispose()
      disposeDecoder(dec)
      xt.dispose()
      zeros.dispose()
    }
  })

  it("(b) training an SDL model recovers the atoms of the generating dictionary", () => {
    const d = 64
    const l = 16
    const batch = 100
    const batches = 20
    const epochs = 60
    const rng = seeded(11)
    const atoms = unitNormDictionary(rng, l, d)
    const codes = sparseCodes(rng, batch * batches, l, { nonZeros: [2, 3], low: 1, high: 2 })
    const data = Float32Array.from(matMulHost(codes, atoms, batch * batches, l, d))
    // The paper's MNIST SDL settings (λ = 0.005, γ = 1, η = 1, decoder LR 1e-3, encoder LR 3e-4,
    // unit-norm atoms, FISTA ≤ 200 steps with tol 1e-3), with l = 16 and batches of 100.
    const settings: ModelSettings = { ...variants.sdl.settings.mnist, codeDim: l, batchSize: batch }
    const model = makeModel(settings, d, seeded(12))
    const toPixels = affineToPixels(0, 1)
    const xs = Array.from({ length: batches }, (_, b) =>
      tf.tensor2d(data.subarray(b * batch * d, (b + 1) * batch * d), [batch, d])
    )
    const started = performance.now()
    try {
      const initial = toFlat(model.decoder.params.W1)
      expect(settings.unitNormAtoms).toBe(true)
      const cosAt = (W: Float32Array) => absCosines(atoms, l, W, l, d).map((row) => Math.max(...row))
      const before = cosAt(initial)
      let energyFirst = 0
      let energyLast = 0
      for (let epoch = 0; epoch < epochs; epoch++) {
        let total = 0
        for (const x of xs) total += trainStep(model, x, epoch, toPixels).energy
        if (epoch === 0) energyFirst = total / (batch * batches)
        energyLast = total / (batch * batches)
      }
      const trained = toFlat(model.decoder.params.W1)
      const after = cosAt(trained)
      const matched = after.filter((c) => c > 0.9).length
      // Up to permutation: the matched true atoms are matched by distinct learned atoms.
      const partners = absCosines(atoms, l, trained, l, d)
        .map((row) => row.indexOf(Math.max(...row)))
        .filter((_, i) => after[i] > 0.9)
      expect(new Set(partners).size).toBe(partners.length)
      const fmt = (v: number[]) =>
        v
          .map((c) => c.toFixed(3))
          .sort()
          .join(" ")
      console.log(
        `atom recovery after ${epochs} epochs (${((performance.now() - started) / 1000).toFixed(1)} s): ${matched}/${l} true atoms with |cos| > 0.9\n` +
          `  best |cos| per true atom at init:  ${fmt(before)}\n  best |cos| per true atom trained: ${fmt(after)}\n` +
          `  energy per row: epoch 1 ${energyFirst.toFixed(4)}, epoch ${epochs} ${energyLast.toFixed(4)}`
      )
      expect(matched).toBeGreaterThanOrEqual(Math.ceil(0.8 * l))
      // A trained model reconstructs its training data far better than at the start.
      expect(energyLast).toBeLessThan(0.5 * energyFirst)
    } finally {
      xs.forEach((x) => x.dispose())
      disposeModel(model)
    }
  })
})
