import * as tf from "@tensorflow/tfjs-core"
import type { ReconstructionTerm } from "../decoders/decoder.js"
import type { Energy } from "../energy.js"
import { gatherRowsInto } from "../gather-rows.js"
import { tfjsLinalg } from "../linalg.js"
import { columnMoments } from "../terms/term.js"
import { devicePass } from "./device-pass.js"
import { type AdaptiveStep, fusedStep } from "./fused-step.js"
import { type InferenceOptions, type InferenceResult, stepSize } from "./method.js"
import { inferencePassProblem } from "./pass.js"

/**
 * How a proximal-gradient method extrapolates: not at all (ISTA), with one momentum sequence for
 * the whole batch (FISTA), or with one per row that restarts when the momentum points uphill.
 */
export type Momentum = "none" | "shared" | "restarting"

/**
 * A step per row that follows the curvature the row meets (fused-step.ts, AdaptiveStep): it grows
 * by `growth` per step up to `maxFactor` times the starting η, and falls to 1/L̂ where η·L̂ > 1,
 * but not below `minFactor` times it.
 */
export interface StepAdaptation {
  readonly growth: number
  readonly maxFactor: number
  readonly minFactor: number
  /** Whether each row's convergence test reads its change per unit of its step (AdaptiveStep). */
  readonly stepTolerance?: boolean
}

/**
 * Proximal gradient on F over z ≥ 0 with a warm start z0, per-row early stopping and frozen rows
 * kept exactly as they were: the engine of every inference method here.
 *
 * The iterates live in host memory and everything but the decoder's products is one fused pass
 * over them: on the wasm backend an elementwise op costs about as much as the whole l×l product,
 * so a dozen tensor ops per step would dominate. That pass runs as a WebAssembly SIMD kernel where
 * it applies, with the iterates in the kernel's memory (fused-step.ts). Frozen rows drop out of
 * the decoder's work; terms that couple rows still see them in the batch statistics, at their
 * final value.
 *
 * On a backend with a device of its own (or when asked, `fusedPass: "device"`) the iterates stay
 * on the device instead, and the same pass runs as TensorFlow.js operations (device-pass.ts).
 */
export const proximalGradient = (
  momentum: Momentum,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D,
  z0: tf.Tensor2D,
  energy: Energy,
  options: InferenceOptions,
  adaptation: StepAdaptation | null = null
): InferenceResult => {
  const [n, l] = z0.shape
  // The pass asked for, else the one the backend chose (it reaches here with the products).
  const chosen = options.fusedPass ?? options.linalg?.inferencePass ?? "wasm-simd"
  const problem = inferencePassProblem(chosen)
  if (problem !== null)
    throw new Error(
      `${options.fusedPass === undefined ? "linalg.inferencePass" : "InferenceOptions.fusedPass"}: ${problem}`
    )
  const eta = stepSize(options.step, reconstruction, n, l, energy)
  if (chosen === "device") return devicePass(momentum, reconstruction, zEnc, z0, energy, options, adaptation, eta)
  const fused = fusedStep(n, l, chosen)
  try {
    const { pass } = fused
    const { y, z, enc, coefficients } = pass
    z.set(z0.dataSync() as Float32Array)
    y.set(z)
    // The encoder's prediction, for the terms that read it; without terms nothing does.
    if (energy.terms.length > 0) enc.set(zEnc.dataSync() as Float32Array)
    pass.live.fill(1)
    const affine = energy.terms.flatMap((t) => (t.host.kind === "affine" ? [t.host] : []))
    const general = energy.terms.flatMap((t) => (t.host.kind === "general" ? [t.host] : []))
    const tol2 = options.tol * options.tol
    const threshold = eta * energy.lambda
    // Every row is live at the start; from then on the pass keeps the moments.
    const moments = columnMoments(y, n, l)
    const linalg = options.linalg ?? tfjsLinalg
    const restarting = momentum === "restarting"
    if (restarting) pass.rowMomentum.fill(1)
    const adaptive: AdaptiveStep | null =
      adaptation === null
        ? null
        : {
            lambda: energy.lambda,
            growth: adaptation.growth,
            etaMax: adaptation.maxFactor * eta,
            etaMin: adaptation.minFactor * eta,
            stepTolerance: adaptation.stepTolerance ?? false
          }
    if (adaptive !== null) pass.rowEta.fill(eta)
    // The live rows' indices, compacted in place as rows freeze, and one buffer for their iterates:
    // a typed array's filter, and a fresh gather every step, cost more than the small steps they serve.
    const rowIndices = pass.rowIndices
    for (let i = 0; i < n; i++) rowIndices[i] = i
    let liveRows = rowIndices
    const gathered = new Float32Array(n * l)
    // A gradient the decoder leaves in parts lets the kernel take its last pass; terms that add
    // into the gradient rows need them whole.
    const { productBuffer } = fused
    const { gradientInParts } = reconstruction
    const inParts =
      general.length === 0 && productBuffer !== null && gradientInParts !== undefined
        ? (input: Float32Array, rows: Int32Array) => ({
            g: productBuffer,
            parts: gradientInParts(input, rows, productBuffer)
          })
        : null
    let t = 1
    let iterations = 0
    for (let k = 0; k < options.maxSteps && liveRows.length > 0; k++) {
      const input = liveRows.length === n ? y : gatherRowsInto(y, l, liveRows, gathered)
      const { g, parts } = inParts?.(input, liveRows) ?? {
        g: reconstruction.gradientRows(input, liveRows),
        parts: undefined
      }
      // Terms see the whole batch: frozen rows still count in its statistics, at their final value.
      coefficients.slope.fill(0)
      coefficients.offset.fill(0)
      coefficients.encoderWeight = 0
      for (const term of affine) term.accumulate(moments, l, coefficients)
      for (const term of general) term.addTo(y, enc, n, l, liveRows, g, linalg)
      const tNext = momentum === "shared" ? (1 + Math.sqrt(1 + 4 * t * t)) / 2 : 1
      fused.step(
        liveRows,
        g,
        { eta, threshold, tol2, extrapolation: momentum === "shared" ? (t - 1) / tNext : 0, restarting, adaptive },
        parts
      )
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
    return {
      codes: tf.tensor2d(z.slice(), [n, l]),
      stepsPerRow: pass.stepsPerRow.slice(),
      meanSteps: n > 0 ? total / n : 0,
      iterations,
      eta
    }
  } finally {
    fused.release()
  }
}
