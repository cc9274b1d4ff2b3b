import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/** FISTA (Beck & Teboulle 2009) as the paper runs it: one momentum sequence for the batch. The default. */
export const fista = inferenceMethod({
  name: "fista",
  description: "FISTA, one momentum sequence for the batch (the paper's)",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("shared", reconstruction, zEnc, z0, energy, options)
})
