import * as tf from "@tensorflow/tfjs-core"
import type { ReconstructionTerm } from "./decoder.js"
import type { EnergyWeights } from "./energy.js"

/**
 * How the gradient step η is chosen: the paper's fixed step, or 1/L with L an upper bound on the
 * Lipschitz constant of ∇f (exact for a linear decoder without the variance term; the hinge's
 * curvature is unbounded near σ = 0, so with β > 0 its part 2β/(N−1) is the usual estimate).
 */
export type StepRule = { readonly kind: "fixed"; readonly eta: number } | { readonly kind: "lipschitz" }

export interface FistaOptions {
  readonly maxSteps: number
  /** A row is frozen once ‖zᵒˡᵈ − z‖ < tol·‖zᵒˡᵈ‖ (or it stays all-zero). */
  readonly tol: number
  readonly step: StepRule
  /** false runs plain ISTA (no momentum), the monotone method. */
  readonly momentum?: boolean
  /** Called after each step; for progress and for tests of the iterates. */
  readonly onStep?: (info: FistaStepInfo) => void
}

export interface FistaStepInfo {
  /** 1-based index of the step just taken. */
  readonly step: number
  readonly liveRows: number
  /** The iterate z after this step, N×l row-major; valid only during the call. */
  readonly codes: Float32Array
  /** 1 for rows still moving after this step, 0 for frozen ones. */
  readonly live: Uint8Array
}

export interface FistaResult {
  /** Z*, non-negative; the caller owns it. */
  readonly codes: tf.Tensor2D
  /** For each row, the number of steps it took part in before it froze. */
  readonly stepsPerRow: Int32Array
  readonly meanSteps: number
  /** Steps run on the batch (the largest per-row count). */
  readonly iterations: number
  readonly eta: number
}

export const stepSize = (
  rule: StepRule,
  reconstruction: ReconstructionTerm,
  rows: number,
  codeDim: number,
  w: EnergyWeights
): number => {
  if (rule.kind === "fixed") return rule.eta
  const L =
    reconstruction.lipschitz() + (w.gamma > 0 ? (2 * w.gamma) / codeDim : 0) + (w.beta > 0 ? (2 * w.beta) / Math.max(rows - 1, 1) : 0)
  return L > 0 ? 1 / L : 1
}

/**
 * Per column j, the gradient of the smooth terms other than the decoder's is affine in y:
 * (2γ/l)(yᵢⱼ − eᵢⱼ) + sⱼ(yᵢⱼ − μⱼ), where the variance hinge contributes sⱼ(yᵢⱼ − μⱼ) with
 * sⱼ = −2β(τ − σⱼ)/((N−1)σⱼ) while σⱼ < τ (0 otherwise, and 0 at σⱼ = 0, the subgradient
 * PyTorch's norm uses). Fills slope[j] = 2γ/l + sⱼ and offset[j] = sⱼμⱼ.
 */
const columnTerms = (
  y: Float32Array,
  n: number,
  l: number,
  w: EnergyWeights,
  sum: Float64Array,
  sumSq: Float64Array,
  slope: Float64Array,
  offset: Float64Array
): void => {
  const encoderWeight = (2 * w.gamma) / l
  if (w.beta === 0) {
    slope.fill(encoderWeight)
    offset.fill(0)
    return
  }
  sum.fill(0)
  sumSq.fill(0)
  for (let i = 0, q = 0; i < n; i++) {
    for (let j = 0; j < l; j++, q++) {
      const v = y[q]
      sum[j] += v
      sumSq[j] += v * v
    }
  }
  const dof = Math.max(n - 1, 1)
  for (let j = 0; j < l; j++) {
    const mean = sum[j] / n
    const std = Math.sqrt(Math.max(0, sumSq[j] - n * mean * mean) / dof)
    const s = std > 0 && std < w.tau ? (-2 * w.beta * (w.tau - std)) / (dof * std) : 0
    slope[j] = encoderWeight + s
    offset[j] = s * mean
  }
}

/**
 * One FISTA step for the live rows, fused: gradient, prox, momentum and the convergence test.
 * Returns nothing; marks rows that settled in `live` and resets their y to z.
 */
const updateLiveRows = (
  liveRows: Int32Array,
  l: number,
  g: Float32Array,
  y: Float32Array,
  z: Float32Array,
  enc: Float32Array,
  encoderWeight: number,
  slope: Float64Array,
  offset: Float64Array,
  eta: number,
  threshold: number,
  extrapolation: number,
  tol2: number,
  live: Uint8Array,
  stepsPerRow: Int32Array
): void => {
  for (let p = 0; p < liveRows.length; p++) {
    const i = liveRows[p]
    let change = 0
    let scale = 0
    let momentumGap = 0
    const base = i * l
    const gBase = p * l
    for (let j = 0; j < l; j++) {
      const q = base + j
      const yq = y[q]
      const old = z[q]
      momentumGap += (yq - old) * (yq - old)
      const grad = g[gBase + j] + slope[j] * yq - encoderWeight * enc[q] - offset[j]
      const u = yq - eta * grad - threshold
      const proposed = u > 0 ? u : 0
      const diff = proposed - old
      change += diff * diff
      scale += old * old
      z[q] = proposed
      y[q] = proposed + extrapolation * diff
    }
    stepsPerRow[i] += 1
    // An unchanged row is at a fixed point of the prox-gradient map only if the step started from
    // z itself: momentum can carry a row to the same point (often 0) twice without it being optimal.
    if ((change === 0 && momentumGap === 0) || (change > 0 && change < tol2 * scale)) {
      live[i] = 0
      for (let j = 0; j < l; j++) y[base + j] = z[base + j]
    }
  }
}

/**
 * FISTA (Beck & Teboulle 2009) on F over z ≥ 0 with a warm start z0, per-row early stopping and
 * frozen rows kept exactly as they were.
 *
 * The iterates live in host memory and everything but the decoder's products is one fused pass
 * over them: on the wasm backend an elementwise op costs about as much as the whole l×l product,
 * so a dozen tensor ops per step would dominate. Frozen rows drop out of the decoder's work; the
 * variance term couples rows, so they still count in the batch statistics, at their final value.
 */
export const fista = (
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D,
  z0: tf.Tensor2D,
  w: EnergyWeights,
  options: FistaOptions
): FistaResult => {
  const [n, l] = z0.shape
  const eta = stepSize(options.step, reconstruction, n, l, w)
  const momentum = options.momentum ?? true
  const z = Float32Array.from(z0.dataSync() as Float32Array)
  const y = Float32Array.from(z)
  const enc = w.gamma > 0 ? Float32Array.from(zEnc.dataSync() as Float32Array) : new Float32Array(n * l)
  const live = new Uint8Array(n).fill(1)
  const stepsPerRow = new Int32Array(n)
  const sum = new Float64Array(l)
  const sumSq = new Float64Array(l)
  const slope = new Float64Array(l)
  const offset = new Float64Array(l)
  const threshold = eta * w.lambda
  const encoderWeight = (2 * w.gamma) / l
  const tol2 = options.tol * options.tol
  let liveRows = Int32Array.from({ length: n }, (_, i) => i)
  let t = 1
  let iterations = 0
  for (let k = 0; k < options.maxSteps && liveRows.length > 0; k++) {
    const tNext = momentum ? (1 + Math.sqrt(1 + 4 * t * t)) / 2 : 1
    const extrapolation = momentum ? (t - 1) / tNext : 0
    const count = liveRows.length
    let yLive: Float32Array
    if (count === n) yLive = y
    else {
      yLive = new Float32Array(count * l)
      for (let p = 0; p < count; p++) yLive.set(y.subarray(liveRows[p] * l, (liveRows[p] + 1) * l), p * l)
    }
    const g = reconstruction.gradientRows(yLive, liveRows)
    // Frozen rows still count in the batch statistics, at their final value.
    columnTerms(y, n, l, w, sum, sumSq, slope, offset)
    updateLiveRows(liveRows, l, g, y, z, enc, encoderWeight, slope, offset, eta, threshold, extrapolation, tol2, live, stepsPerRow)
    t = tNext
    iterations = k + 1
    liveRows = liveRows.filter((i) => live[i] === 1)
    options.onStep?.({ step: iterations, liveRows: liveRows.length, codes: z, live })
  }
  let total = 0
  for (let i = 0; i < n; i++) total += stepsPerRow[i]
  return { codes: tf.tensor2d(z, [n, l]), stepsPerRow, meanSteps: n > 0 ? total / n : 0, iterations, eta }
}
