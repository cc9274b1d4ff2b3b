import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/** ISTA: proximal gradient without momentum; slower than FISTA, but the energy never increases. */
export const ista = inferenceMethod({
  name: "ista",
  description: "ISTA, no momentum; monotone",
  monotone: true,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("none", reconstruction, zEnc, z0, energy, options)
})
