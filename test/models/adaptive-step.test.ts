/**
 * FISTA with an adaptive step per row: a step too long for the curvature is cut back to it, and a
 * step far too short grows, both ending on the minimiser FISTA reaches at 1/L. Synthetic data
 * from a known unit-norm dictionary, with the exact L of the linear decoder.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import {
  denseReconstructionTerm as reconstructionTerm,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder
} from "../../src/models/decoders/dense.js"
import { fista } from "../../src/models/inference/fista.js"
import { fistaAdaptive } from "../../src/models/inference/fista-adaptive.js"
import { fistaAdaptiveScaled } from "../../src/models/inference/fista-adaptive-scaled.js"
import { fistaAdaptiveWide } from "../../src/models/inference/fista-adaptive-wide.js"
import { fistaRestart } from "../../src/models/inference/fista-restart.js"
import type { InferenceMethod, StepRule } from "../../src/models/inference/method.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { libraryEnergy } from "../helpers/problems.js"
import { matMulHost, seeded, sparseCodes, toFlat, unitNormDictionary, useTestBackend } from "../helpers/tf.js"

useTestBackend()

const d = 48
const l = 12
const n = 60
const maxSteps = 3000

/** Runs each (method, step) on one problem; step lengths are in units of 1/L. */
const onProblem = <T>(
  body: (
    infer: (
      method: InferenceMethod,
      stepTimesL: number | "lipschitz"
    ) => { codes: Float32Array; iterations: number; meanSteps: number }
  ) => T
): T => {
  const rng = seeded(5)
  const atoms = unitNormDictionary(rng, l, d)
  // Correlated atoms spread the spectrum, so that 1/L is far from the step most directions allow.
  for (let j = 1; j < l; j++) for (let q = 0; q < d; q++) atoms[j * d + q] = 0.6 * atoms[j * d + q] + 0.4 * atoms[q]
  const codes = sparseCodes(rng, n, l, { nonZeros: [2, 4], low: 0.5, high: 2 })
  const x = tf.tensor2d(Float32Array.from(matMulHost(codes, atoms, n, l, d)), [n, d])
  const dec = makeDecoder(rng, l, [], d, tfjsLinalg)
  dec.layers[0].W.assign(tf.tensor2d(atoms, [l, d]))
  const zeros = tf.zeros([n, l]) as tf.Tensor2D
  const term = reconstructionTerm(dec, x)
  const energy = libraryEnergy({ lambda: 2e-3, beta: 0, tau: 0.5, gamma: 0 })
  const L = term.lipschitz()
  try {
    return body((method, stepTimesL) => {
      const step: StepRule = stepTimesL === "lipschitz" ? { kind: "lipschitz" } : { kind: "fixed", eta: stepTimesL / L }
      const result = method.infer(term, zeros, zeros, energy, { maxSteps, tol: 1e-6, step })
      const out = { codes: toFlat(result.codes), iterations: result.iterations, meanSteps: result.meanSteps }
      result.codes.dispose()
      return out
    })
  } finally {
    term.dispose()
    disposeDecoder(dec)
    tf.dispose([x, zeros])
  }
}

const largestDifference = (a: Float32Array, b: Float32Array): number =>
  a.reduce((worst, v, q) => Math.max(worst, Math.abs(v - b[q])), 0)

/** At a fixed step of stepTimesL/L, `fails` does not reach FISTA's minimiser (the premise) and `method` does. */
const rescues = (fails: InferenceMethod, method: InferenceMethod, stepTimesL: number) =>
  onProblem((infer) => {
    const reference = infer(fista, "lipschitz")
    expect(reference.iterations).toBeLessThan(maxSteps)
    const scale = reference.codes.reduce((m, v) => Math.max(m, v), 0)
    const failed = infer(fails, stepTimesL)
    expect(failed.iterations === maxSteps || !(largestDifference(failed.codes, reference.codes) < 0.01 * scale)).toBe(
      true
    )
    const rescued = infer(method, stepTimesL)
    expect(rescued.iterations).toBeLessThan(maxSteps)
    expect(largestDifference(rescued.codes, reference.codes)).toBeLessThan(0.01 * scale)
  })

describe("fista-adaptive: a step per row that follows the curvature", () => {
  it("with a fixed step of 3/L, where FISTA with restart does not converge, reaches FISTA's minimiser", () =>
    rescues(fistaRestart, fistaAdaptive, 3))

  it("with a fixed step of 1/(20L) grows its step: fewer steps than FISTA with restart, to the same minimiser", () => {
    onProblem((infer) => {
      const reference = infer(fista, "lipschitz")
      const scale = reference.codes.reduce((m, v) => Math.max(m, v), 0)
      const plain = infer(fistaRestart, 0.05)
      const adaptive = infer(fistaAdaptive, 0.05)
      expect(adaptive.meanSteps).toBeLessThan(0.6 * plain.meanSteps)
      expect(largestDifference(adaptive.codes, reference.codes)).toBeLessThan(0.01 * scale)
      expect(largestDifference(plain.codes, reference.codes)).toBeLessThan(0.01 * scale)
    })
  })
})

describe("fista-adaptive-scaled: the convergence test per unit of each row's step", () => {
  it("from a step of 1/(20L), which the rows grow, stops sooner than fista-adaptive, on the same minimiser", () => {
    onProblem((infer) => {
      const reference = infer(fista, "lipschitz")
      const scale = reference.codes.reduce((m, v) => Math.max(m, v), 0)
      const adaptive = infer(fistaAdaptive, 0.05)
      const scaled = infer(fistaAdaptiveScaled, 0.05)
      expect(scaled.meanSteps).toBeLessThan(adaptive.meanSteps)
      expect(largestDifference(scaled.codes, reference.codes)).toBeLessThan(0.01 * scale)
    })
  })
})

describe("fista-adaptive-wide: steps down to η/256", () => {
  // fista-adaptive, held at its floor of η/4 = 3/L, does not converge.
  it("from a step of 12/L, which fista-adaptive can cut only to 3/L, reaches FISTA's minimiser", () =>
    rescues(fistaAdaptive, fistaAdaptiveWide, 12))

  it("from a step of 1/L takes fista-adaptive's steps: the wider floor changes nothing where it is not reached", () => {
    onProblem((infer) => {
      const adaptive = infer(fistaAdaptive, 1)
      const wide = infer(fistaAdaptiveWide, 1)
      expect(wide.iterations).toBe(adaptive.iterations)
      expect(largestDifference(wide.codes, adaptive.codes)).toBe(0)
    })
  })
})
