import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/**
 * FISTA with adaptive restart (O'Donoghue & Candès 2015), per row: a row whose momentum points
 * uphill starts its sequence again, which removes FISTA's ripples on well-conditioned rows.
 */
export const fistaRestart = inferenceMethod({
  name: "fista-restart",
  description: "FISTA with gradient-based adaptive restart, per row",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("restarting", reconstruction, zEnc, z0, energy, options)
})
