import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/**
 * FISTA with per-row restart and a per-row step fitted to the local curvature, in the spirit of
 * Malitsky & Mishchenko's adaptive gradient descent (2020): after each step a row estimates
 * L̂ = ‖∇f(y) − ∇f(y′)‖/‖y − y′‖ from its last two gradients. A row whose step was longer than
 * 1/L̂ takes 1/L̂ (but not less than η/4) and restarts its momentum; the others grow their step
 * by a quarter per step, up to 1/L̂ and 4η.
 *
 * With a multi-layer decoder the curvature differs from row to row, and a few rows meet more than
 * the fixed η allows: those oscillate until the step limit under plain FISTA, and with a few live
 * rows each step is a matrix–vector product that costs nearly as much as a full batch's.
 */
export const fistaAdaptive = inferenceMethod({
  name: "fista-adaptive",
  description: "FISTA with restart and a step per row fitted to its local curvature",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("restarting", reconstruction, zEnc, z0, energy, options, {
      growth: 1.25,
      maxFactor: 4,
      minFactor: 0.25
    })
})
