import * as tf from "@tensorflow/tfjs-core"
import type { ReconstructionTerm } from "../decoder.js"
import type { Energy } from "../energy.js"
import { gatherRowsInto } from "../gather-rows.js"
import { tfjsLinalg } from "../linalg.js"
import { nonNegativeShrink } from "../terms/sparsity.js"
import { type AffineCoefficients, columnMoments } from "../terms/term.js"
import { type InferenceOptions, type InferenceResult, stepSize } from "./method.js"

/**
 * How a proximal-gradient method extrapolates: not at all (ISTA), with one momentum sequence for
 * the whole batch (FISTA), or with one per row that restarts when the momentum points uphill.
 */
export type Momentum = "none" | "shared" | "restarting"

interface Pass {
  readonly l: number
  readonly y: Float32Array
  readonly z: Float32Array
  readonly enc: Float32Array
  readonly coefficients: AffineCoefficients
  readonly eta: number
  readonly threshold: number
  readonly tol2: number
  readonly live: Uint8Array
  readonly stepsPerRow: Int32Array
  /** One row's step z⁺ − z, kept while a per-row extrapolation is decided. */
  readonly rowStep: Float64Array
  /**
   * The column moments of y kept up to date inside the pass, for the affine terms: the live rows'
   * share summed as their new y is written, the frozen rows' share added once, when they freeze.
   */
  readonly liveSum: Float64Array
  readonly liveSumOfSquares: Float64Array
  readonly frozenSum: Float64Array
  readonly frozenSumOfSquares: Float64Array
}

/**
 * The row's convergence test, then freezing: an unchanged row is at a fixed point of the
 * prox-gradient map only if the step started from z itself, since momentum can carry a row to the
 * same point (often 0) twice without it being optimal.
 */
const settle = (s: Pass, i: number, change: number, scale: number, momentumGap: number): void => {
  s.stepsPerRow[i] += 1
  if ((change === 0 && momentumGap === 0) || (change > 0 && change < s.tol2 * scale)) {
    s.live[i] = 0
    const { y, z, liveSum, liveSumOfSquares, frozenSum, frozenSumOfSquares } = s
    for (let j = 0, q = i * s.l; j < s.l; j++, q++) {
      const leaving = y[q]
      liveSum[j] -= leaving
      liveSumOfSquares[j] -= leaving * leaving
      const kept = z[q]
      frozenSum[j] += kept
      frozenSumOfSquares[j] += kept * kept
      y[q] = kept
    }
  }
}

/**
 * One step for the live rows, fused: gradient, prox, momentum and the convergence test. With one
 * extrapolation for the batch (FISTA, ISTA at 0) y is written in the same pass. With a momentum
 * sequence per row (`rowMomentum`) the extrapolation waits for the row's gradient-based restart
 * test of O'Donoghue & Candès (2015): where (y − z⁺)·(z⁺ − z) > 0 the momentum has carried the row
 * uphill, so it takes the plain proximal step from z⁺ and its sequence starts again.
 */
const step = (s: Pass, liveRows: Int32Array, g: Float32Array, extrapolation: number, rowMomentum: Float64Array | null): void => {
  const { l, y, z, enc, eta, threshold, rowStep, liveSum, liveSumOfSquares } = s
  const { slope, offset, encoderWeight } = s.coefficients
  liveSum.fill(0)
  liveSumOfSquares.fill(0)
  for (let p = 0; p < liveRows.length; p++) {
    const i = liveRows[p]
    let change = 0
    let scale = 0
    let momentumGap = 0
    let uphill = 0
    const base = i * l
    const gBase = p * l
    for (let j = 0; j < l; j++) {
      const q = base + j
      const yq = y[q]
      const old = z[q]
      momentumGap += (yq - old) * (yq - old)
      const grad = g[gBase + j] + slope[j] * yq - encoderWeight * enc[q] - offset[j]
      const proposed = nonNegativeShrink(yq - eta * grad, threshold)
      const diff = proposed - old
      change += diff * diff
      scale += old * old
      z[q] = proposed
      if (rowMomentum === null) {
        const next = proposed + extrapolation * diff
        y[q] = next
        liveSum[j] += next
        liveSumOfSquares[j] += next * next
      } else {
        uphill += (yq - proposed) * diff
        rowStep[j] = diff
      }
    }
    if (rowMomentum !== null) {
      let e = 0
      if (uphill > 0) rowMomentum[i] = 1
      else {
        const tNext = (1 + Math.sqrt(1 + 4 * rowMomentum[i] * rowMomentum[i])) / 2
        e = (rowMomentum[i] - 1) / tNext
        rowMomentum[i] = tNext
      }
      for (let j = 0; j < l; j++) {
        const next = z[base + j] + e * rowStep[j]
        y[base + j] = next
        liveSum[j] += next
        liveSumOfSquares[j] += next * next
      }
    }
    settle(s, i, change, scale, momentumGap)
  }
}

/**
 * Proximal gradient on F over z ≥ 0 with a warm start z0, per-row early stopping and frozen rows
 * kept exactly as they were: the engine of every inference method here.
 *
 * The iterates live in host memory and everything but the decoder's products is one fused pass
 * over them: on the wasm backend an elementwise op costs about as much as the whole l×l product,
 * so a dozen tensor ops per step would dominate. Frozen rows drop out of the decoder's work; terms
 * that couple rows still see them in the batch statistics, at their final value.
 */
export const proximalGradient = (
  momentum: Momentum,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D,
  z0: tf.Tensor2D,
  energy: Energy,
  options: InferenceOptions
): InferenceResult => {
  const [n, l] = z0.shape
  const eta = stepSize(options.step, reconstruction, n, l, energy)
  const z = Float32Array.from(z0.dataSync() as Float32Array)
  const y = Float32Array.from(z)
  // The encoder's prediction, for the terms that read it; without terms nothing does.
  const enc = energy.terms.length > 0 ? Float32Array.from(zEnc.dataSync() as Float32Array) : new Float32Array(n * l)
  const coefficients: AffineCoefficients = { slope: new Float64Array(l), offset: new Float64Array(l), encoderWeight: 0 }
  const affine = energy.terms.flatMap((t) => (t.host.kind === "affine" ? [t.host] : []))
  const general = energy.terms.flatMap((t) => (t.host.kind === "general" ? [t.host] : []))
  const pass: Pass = {
    l, y, z, enc, coefficients, eta, threshold: eta * energy.lambda, tol2: options.tol * options.tol, live: new Uint8Array(n).fill(1), stepsPerRow: new Int32Array(n), rowStep: new Float64Array(l),
    liveSum: new Float64Array(l), liveSumOfSquares: new Float64Array(l), frozenSum: new Float64Array(l), frozenSumOfSquares: new Float64Array(l)
  }
  // Every row is live at the start; from then on the pass keeps the moments.
  const moments = columnMoments(y, n, l)
  const linalg = options.linalg ?? tfjsLinalg
  const rowMomentum = momentum === "restarting" ? new Float64Array(n).fill(1) : null
  // The live rows' indices, compacted in place as rows freeze, and one buffer for their iterates:
  // a typed array's filter, and a fresh gather every step, cost more than the small steps they serve.
  const rowIndices = Int32Array.from({ length: n }, (_, i) => i)
  let liveRows = rowIndices
  const gathered = new Float32Array(n * l)
  let t = 1
  let iterations = 0
  for (let k = 0; k < options.maxSteps && liveRows.length > 0; k++) {
    const g = reconstruction.gradientRows(liveRows.length === n ? y : gatherRowsInto(y, l, liveRows, gathered), liveRows)
    // Terms see the whole batch: frozen rows still count in its statistics, at their final value.
    coefficients.slope.fill(0)
    coefficients.offset.fill(0)
    coefficients.encoderWeight = 0
    for (const term of affine) term.accumulate(moments, l, coefficients)
    for (const term of general) term.addTo(y, enc, n, l, liveRows, g, linalg)
    const tNext = momentum === "shared" ? (1 + Math.sqrt(1 + 4 * t * t)) / 2 : 1
    step(pass, liveRows, g, momentum === "shared" ? (t - 1) / tNext : 0, rowMomentum)
    for (let j = 0; j < l; j++) {
      moments.sum[j] = pass.frozenSum[j] + pass.liveSum[j]
      moments.sumOfSquares[j] = pass.frozenSumOfSquares[j] + pass.liveSumOfSquares[j]
    }
    t = tNext
    iterations = k + 1
    let stillLive = 0
    for (let p = 0; p < liveRows.length; p++) if (pass.live[liveRows[p]] === 1) rowIndices[stillLive++] = liveRows[p]
    liveRows = rowIndices.subarray(0, stillLive)
    options.onStep?.({ step: iterations, liveRows: liveRows.length, codes: z, live: pass.live })
  }
  let total = 0
  for (let i = 0; i < n; i++) total += pass.stepsPerRow[i]
  return { codes: tf.tensor2d(z, [n, l]), stepsPerRow: pass.stepsPerRow, meanSteps: n > 0 ? total / n : 0, iterations, eta }
}
