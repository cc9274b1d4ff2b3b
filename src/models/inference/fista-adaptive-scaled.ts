import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/**
 * fista-adaptive with its convergence test read per unit of each row's step: a row freezes once
 * ‖Δz‖·η/ηᵢ < tol·‖z‖. A proximal step's change is its step times the gradient mapping, so under
 * the plain test a row whose step grew to 4η must be four times closer to its fixed point than
 * under a fixed η; here every row meets the standard the fixed step η sets.
 */
export const fistaAdaptiveScaled = inferenceMethod({
  name: "fista-adaptive-scaled",
  description: "fista-adaptive with each row's convergence test read per unit of its step",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("restarting", reconstruction, zEnc, z0, energy, options, {
      growth: 1.25,
      maxFactor: 4,
      minFactor: 0.25,
      stepTolerance: true
    })
})
