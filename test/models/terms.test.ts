/**
 * Every registered code term, checked the same way: its gradient is the autograd of its value,
 * and the host form inference runs (affine coefficients or a direct sum into the live rows)
 * equals that gradient, for any subset of live rows. A new term gets these checks by being
 * registered.
 */
import * as tf from "@tensorflow/tfjs-core"
// The autograd reference needs every gradient registered; the library registers none.
import "@tensorflow/tfjs-core/dist/register_all_gradients.js"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { codeTermKinds } from "../../src/models/terms/registry.js"
import { type AffineCoefficients, type CodeTerm, columnMoments } from "../../src/models/terms/term.js"
import { configureFastCheck, gaussian, leakCheck, seeded, toFlat, useTestBackend } from "../helpers/tf.js"
import { between } from "../helpers/between.js"

useTestBackend()
configureFastCheck()

/** Settings that switch every registered term on, with weights drawn per case. */
const allOn = fc.record({
  beta: between(0.5, 10),
  tau: fc.constantFrom(0.5, 1),
  gamma: between(0.05, 5),
  covariance: between(0.01, 5),
  lambda: fc.constant(0.01)
})

const termsFor = (w: Record<string, number>): CodeTerm[] =>
  codeTermKinds.map((kind) => {
    const term = (kind.make as (s: Record<string, number>) => CodeTerm | null)(w)
    if (term === null) throw new Error(`${kind.name} is off with ${JSON.stringify(w)}`)
    return term
  })

/** The host gradient of one term for the listed rows, as inference assembles it. */
const hostGradient = (
  term: CodeTerm,
  y: Float32Array,
  enc: Float32Array,
  n: number,
  l: number,
  rows: Int32Array
): Float64Array => {
  const g = new Float32Array(rows.length * l)
  if (term.host.kind === "general") {
    term.host.addTo(y, enc, n, l, rows, g, tfjsLinalg)
    return Float64Array.from(g)
  }
  const c: AffineCoefficients = { slope: new Float64Array(l), offset: new Float64Array(l), encoderWeight: 0 }
  term.host.accumulate(columnMoments(y, n, l), l, c)
  const out = new Float64Array(rows.length * l)
  rows.forEach((i, p) => {
    for (let j = 0; j < l; j++)
      out[p * l + j] = c.slope[j] * y[i * l + j] - c.encoderWeight * enc[i * l + j] - c.offset[j]
  })
  return out
}

describe("every registered code term", () => {
  it("has a gradient equal to the autograd of its value, and a host form equal to its gradient on the live rows", () => {
    fc.assert(
      fc.property(
        allOn,
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (w, n, l, seed) => {
          const rng = seeded(seed)
          // Columns on different scales, so that some σⱼ are under τ (the hinge active) and some over.
          const scales = Array.from({ length: l }, (_, j) => (j % 2 === 0 ? 0.05 : 1.5) * (0.5 + rng.next()))
          const y = Float32Array.from(gaussian(rng, n, l), (v, q) => 0.2 + scales[q % l] * Math.abs(v))
          const enc = Float32Array.from(gaussian(rng, n, l), Math.abs)
          const rows = Int32Array.from(
            rng
              .permutation(n)
              .slice(0, 1 + rng.int(n))
              .sort((a, b) => a - b)
          )
          leakCheck(() => {
            for (const term of termsFor(w)) {
              const { auto, direct } = tf.tidy(() => {
                const z = tf.tensor2d(y, [n, l])
                const zEnc = tf.tensor2d(enc, [n, l])
                return {
                  auto: toFlat(tf.grad((zz: tf.Tensor) => term.value(zz as tf.Tensor2D, zEnc))(z)),
                  direct: toFlat(term.gradient(z, zEnc))
                }
              })
              let scale = 0
              for (const v of auto) scale = Math.max(scale, Math.abs(v))
              for (let q = 0; q < auto.length; q++) {
                expect(Math.abs(direct[q] - auto[q]), `${term.name}: gradient vs autograd at ${q}`).toBeLessThanOrEqual(
                  1e-4 * (1 + scale)
                )
              }
              const host = hostGradient(term, y, enc, n, l, rows)
              rows.forEach((i, p) => {
                for (let j = 0; j < l; j++) {
                  expect(
                    Math.abs(host[p * l + j] - direct[i * l + j]),
                    `${term.name}: host form vs gradient at row ${i}`
                  ).toBeLessThanOrEqual(1e-4 * (1 + scale))
                }
              })
            }
          })
        }
      ),
      { numRuns: 40 }
    )
  })

  it("is off at weight 0, so that a switched-off term costs inference nothing", () => {
    for (const kind of codeTermKinds) {
      const zero = Object.fromEntries(Object.keys(kind.fields).map((k) => [k, 0]))
      expect((kind.make as (s: Record<string, number>) => CodeTerm | null)({ tau: 0.5, ...zero }), kind.name).toBeNull()
    }
  })
})

describe("covariance term", () => {
  it("is zero for decorrelated codes and positive for correlated ones, and its value matches (ν/l)Σ_{j≠k} C_jk² written out", () => {
    const term = termsFor({ beta: 1, tau: 0.5, gamma: 1, covariance: 2, lambda: 0 }).find(
      (t) => t.name === "covariance"
    )
    if (term === undefined) throw new Error("no covariance term registered")
    // Columns that are orthogonal after centring: their covariance is diagonal.
    const orthogonal = [
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1]
    ]
    const correlated = [
      [1, 2],
      [2, 4.1],
      [3, 5.9],
      [4, 8]
    ]
    const valueOf = (rows: number[][]) =>
      tf.tidy(() => {
        const z = tf.tensor2d(rows)
        return term.value(z, z).dataSync()[0]
      })
    expect(valueOf(orthogonal)).toBeCloseTo(0, 6)
    const n = correlated.length
    const mean = [0, 1].map((j) => correlated.reduce((s, r) => s + r[j], 0) / n)
    const c01 = correlated.reduce((s, r) => s + (r[0] - mean[0]) * (r[1] - mean[1]), 0) / (n - 1)
    expect(valueOf(correlated)).toBeCloseTo((2 / 2) * 2 * c01 * c01, 3)
  })
})
