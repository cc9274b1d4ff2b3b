import * as tf from "@tensorflow/tfjs-core"
import type { ReconstructionTerm } from "../decoders/decoder.js"
import type { Energy } from "../energy.js"
import type { InferenceOptions, InferenceResult } from "./method.js"
import type { Momentum, StepAdaptation } from "./proximal-gradient.js"

/**
 * The iterates of one inference call as tensors on the backend's device. Per-row values are
 * columns (N×1), so that they broadcast over a row's entries.
 */
export interface DeviceState {
  readonly y: tf.Tensor2D
  readonly z: tf.Tensor2D
  /** true for rows still moving. */
  readonly live: tf.Tensor2D
  /** The steps each row took part in (int32). */
  readonly steps: tf.Tensor2D
  /** Each row's momentum sequence tₖ, with restarting momentum. */
  readonly rowMomentum: tf.Tensor2D | null
  /** Each row's step, and the gradient and point of its last step, with an adaptive step. */
  readonly rowEta: tf.Tensor2D | null
  readonly previousGradient: tf.Tensor2D | null
  readonly previousY: tf.Tensor2D | null
}

export const stateTensors = (s: DeviceState): tf.Tensor[] =>
  [s.y, s.z, s.live, s.steps, s.rowMomentum, s.rowEta, s.previousGradient, s.previousY].filter(
    (t): t is tf.Tensor2D => t !== null
  )

const rowSum = (t: tf.Tensor): tf.Tensor2D => tf.sum(t, 1, true) as tf.Tensor2D

/** tf.tidy for a result whose optional members are null: tidy's types know no null. */
const keeping = <T>(f: () => T): T => tf.tidy(f as () => tf.TensorContainer) as T

/** What a device step needs beyond the state: the host pass's StepParameters, as numbers. */
export interface DeviceStepParameters {
  readonly eta: number
  readonly threshold: number
  readonly lambda: number
  readonly tol2: number
  /** FISTA's extrapolation for the batch (0 for ISTA); ignored with a momentum sequence per row. */
  readonly extrapolation: number
  /**
   * The adaptive step's bounds, used where the state has a step per row, and whether each row's
   * convergence test is read per unit of its step where that step has grown past η.
   */
  readonly adaptive: {
    readonly growth: number
    readonly etaMax: number
    readonly etaMin: number
    readonly stepTolerance: boolean
  } | null
}

/**
 * One step of the pass from the state and the smooth gradient at y for every row (N×l): the
 * state after it, and the count of rows still live. The caller owns both and the old state.
 */
export const deviceStep = (
  s: DeviceState,
  grad: tf.Tensor2D,
  { eta, threshold: fixedThreshold, lambda, tol2, extrapolation, adaptive }: DeviceStepParameters
): { next: DeviceState; liveCount: tf.Scalar } =>
  keeping(() => {
    const { y, z, live, steps } = s
    const rowEta = s.rowEta
    const stepSize: tf.Tensor | number = rowEta ?? eta
    const threshold: tf.Tensor | number = rowEta === null ? fixedThreshold : tf.mul(rowEta, lambda)
    const momentumGap = rowSum(tf.square(tf.sub(y, z)))
    const proposed = tf.relu(tf.sub(tf.sub(y, tf.mul(stepSize, grad)), threshold)) as tf.Tensor2D
    const diff = tf.sub(proposed, z) as tf.Tensor2D
    const change = rowSum(tf.square(diff))
    const scale = rowSum(tf.square(z))

    // The adaptive step's curvature estimate, from this step's gradient and the row's last one.
    let nextEta = rowEta
    let previousGradient = s.previousGradient
    let previousY = s.previousY
    let steep: tf.Tensor | null = null
    if (adaptive !== null && rowEta !== null && previousGradient !== null && previousY !== null) {
      const curvature = rowSum(tf.square(tf.sub(grad, previousGradient)))
      const distance = rowSum(tf.square(tf.sub(y, previousY)))
      const ratio = tf.mul(rowEta, tf.sqrt(tf.div(curvature, distance)))
      const applies = tf.logicalAnd(live, tf.logicalAnd(tf.greater(steps, 0), tf.greater(distance, 0)))
      steep = tf.logicalAnd(applies, tf.greater(ratio, 1))
      const shrunk = tf.maximum(tf.div(rowEta, ratio), adaptive.etaMin)
      const grown = tf.minimum(tf.minimum(tf.mul(rowEta, adaptive.growth), tf.div(rowEta, ratio)), adaptive.etaMax)
      nextEta = tf.where(applies, tf.where(steep, shrunk, grown), rowEta) as tf.Tensor2D
      previousGradient = tf.where(live, grad, previousGradient) as tf.Tensor2D
      previousY = tf.where(live, y, previousY) as tf.Tensor2D
    }

    // y's next value: FISTA's shared extrapolation, or each row's own sequence, restarted where
    // the momentum points uphill, (y − z⁺)·(z⁺ − z) > 0, or where the step was too long.
    let moved: tf.Tensor2D
    let rowMomentum = s.rowMomentum
    if (rowMomentum !== null) {
      let uphill: tf.Tensor = tf.greater(rowSum(tf.mul(tf.sub(y, proposed), diff)), 0)
      if (steep !== null) uphill = tf.logicalOr(uphill, steep)
      const t = rowMomentum
      const tNext = tf.div(tf.add(1, tf.sqrt(tf.add(1, tf.mul(4, tf.mul(t, t))))), 2)
      const e = tf.where(uphill, tf.zerosLike(t), tf.div(tf.sub(t, 1), tNext))
      moved = tf.add(proposed, tf.mul(e, diff)) as tf.Tensor2D
      rowMomentum = tf.where(live, tf.where(uphill, tf.onesLike(t), tNext), t) as tf.Tensor2D
    } else moved = tf.add(proposed, tf.mul(extrapolation, diff)) as tf.Tensor2D

    // The convergence test: an unchanged row is at a fixed point only if the step started from z.
    const tolerance: tf.Tensor | number =
      adaptive?.stepTolerance === true && rowEta !== null
        ? tf.mul(tol2, tf.square(tf.maximum(tf.div(rowEta, eta), 1)))
        : tol2
    const converged = tf.logicalOr(
      tf.logicalAnd(tf.equal(change, 0), tf.equal(momentumGap, 0)),
      tf.logicalAnd(tf.greater(change, 0), tf.less(change, tf.mul(scale, tolerance)))
    )
    const stillLive = tf.logicalAnd(live, tf.logicalNot(converged)) as tf.Tensor2D
    const freezing = tf.logicalAnd(live, converged)
    const next: DeviceState = {
      y: tf.where(stillLive, moved, tf.where(freezing, proposed, y)) as tf.Tensor2D,
      z: tf.where(live, proposed, z) as tf.Tensor2D,
      live: stillLive,
      steps: tf.add(steps, tf.cast(live, "int32")) as tf.Tensor2D,
      rowMomentum,
      rowEta: nextEta,
      previousGradient,
      previousY
    }
    return { next, liveCount: tf.sum(tf.cast(stillLive, "int32")) as tf.Scalar }
  })

/**
 * proximal-gradient.ts's engine with the iterates kept on the backend's device: each step is one
 * tidy of TensorFlow.js operations over the whole batch, the same per-entry pass as the host's
 * (fused-step.ts, javascriptStep) written as tensor operations, and one number comes back to the
 * host per step, the count of live rows, to stop once every row is frozen. On a GPU a round trip
 * of the iterates per step would cost more than the step.
 *
 * The decoder's gradient and the code terms' are taken on the whole batch with their tensor
 * methods: frozen rows are masked out of the update, so they stay exactly as they were, and they
 * count in the terms' batch statistics at their final value, as on the host. The terms compute
 * their column statistics from the batch each step; on a device that reduction costs what the
 * host's incremental moments would, and every term (the covariance penalty too) keeps one
 * definition of its gradient.
 *
 * The sums run in float32 in the backend's order where the host pass sums in float64, so codes
 * agree with the host pass to float32 rounding, not bit for bit.
 */
export const devicePass = (
  momentum: Momentum,
  reconstruction: ReconstructionTerm,
  zEnc: tf.Tensor2D,
  z0: tf.Tensor2D,
  energy: Energy,
  options: InferenceOptions,
  adaptation: StepAdaptation | null,
  eta: number
): InferenceResult => {
  const [n, l] = z0.shape
  const tol2 = options.tol * options.tol
  const restarting = momentum === "restarting"
  const adaptive =
    adaptation === null
      ? null
      : {
          growth: adaptation.growth,
          etaMax: adaptation.maxFactor * eta,
          etaMin: adaptation.minFactor * eta,
          stepTolerance: adaptation.stepTolerance ?? false
        }
  const parameters = { eta, threshold: eta * energy.lambda, lambda: energy.lambda, tol2, adaptive }
  let state: DeviceState = keeping(() => ({
    y: tf.clone(z0),
    z: tf.clone(z0),
    live: tf.cast(tf.ones([n, 1]), "bool") as tf.Tensor2D,
    steps: tf.zeros([n, 1], "int32") as tf.Tensor2D,
    rowMomentum: restarting ? (tf.ones([n, 1]) as tf.Tensor2D) : null,
    rowEta: adaptive === null ? null : (tf.fill([n, 1], eta) as tf.Tensor2D),
    previousGradient: adaptive === null ? null : (tf.zeros([n, l]) as tf.Tensor2D),
    previousY: adaptive === null ? null : (tf.zeros([n, l]) as tf.Tensor2D)
  }))

  try {
    let t = 1
    let iterations = 0
    let liveRows = n
    for (let k = 0; k < options.maxSteps && liveRows > 0; k++) {
      const tNext = momentum === "shared" ? (1 + Math.sqrt(1 + 4 * t * t)) / 2 : 1
      const extrapolation = momentum === "shared" ? (t - 1) / tNext : 0
      const current = state
      const grad = keeping(() => {
        let g = reconstruction.gradient(current.y)
        for (const term of energy.terms) g = tf.add(g, term.gradient(current.y, zEnc)) as tf.Tensor2D
        return g
      })
      let stepped: ReturnType<typeof deviceStep>
      try {
        stepped = deviceStep(state, grad, { ...parameters, extrapolation })
      } finally {
        grad.dispose()
      }
      const { next, liveCount } = stepped
      const previous = state
      state = next
      const kept = new Set(stateTensors(state))
      tf.dispose(stateTensors(previous).filter((x) => !kept.has(x)))
      liveRows = liveCount.dataSync()[0]
      liveCount.dispose()
      t = tNext
      iterations = k + 1
      // Progress and tests read the iterates on the host; without a listener they stay on the device.
      if (options.onStep !== undefined)
        options.onStep({
          step: iterations,
          liveRows,
          codes: state.z.dataSync() as Float32Array,
          live: Uint8Array.from(state.live.dataSync() as Uint8Array)
        })
    }
    const stepsPerRow = Int32Array.from(state.steps.dataSync() as Int32Array)
    let total = 0
    for (let i = 0; i < n; i++) total += stepsPerRow[i]
    return {
      codes: tf.clone(state.z),
      stepsPerRow,
      meanSteps: n > 0 ? total / n : 0,
      iterations,
      eta
    }
  } finally {
    tf.dispose(stateTensors(state))
  }
}
