import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/**
 * fista-adaptive with its convergence test read per unit of each row's step where that step has
 * grown past η: a row freezes once ‖Δz‖ < tol·max(1, ηᵢ/η)·‖z‖. A proximal step's change is its
 * step times the gradient mapping, so under the plain test a row whose step grew to 4η has to be
 * four times closer to its fixed point than the fixed step η asks. With the test no longer
 * penalising long steps, the steps grow by half per step, up to 8η.
 */
export const fistaAdaptiveScaled = inferenceMethod({
  name: "fista-adaptive-scaled",
  description: "fista-adaptive with each row's convergence test read per unit of its step, steps up to 8η",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("restarting", reconstruction, zEnc, z0, energy, options, {
      growth: 1.5,
      maxFactor: 8,
      minFactor: 0.25,
      stepTolerance: true
    })
})
