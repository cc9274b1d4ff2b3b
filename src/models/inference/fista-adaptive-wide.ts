import { inferenceMethod } from "./method.js"
import { proximalGradient } from "./proximal-gradient.js"

/**
 * fista-adaptive with room to cut each row's step down to η/256 instead of η/4. A decoder that
 * keeps growing meets rows whose curvature asks for a step below η/4: held there, they oscillate
 * to the step limit like rows under a fixed step that is too long. VDL-NL's first layer does
 * that over a long run: its spectral norm went from 5.8 at epoch 20 to 18.9 at epoch 81 on MNIST,
 * and on the decoder of epoch 83, 52 of 2,000 rows ran to the 200-step limit under fista-adaptive
 * (12.9 steps per row) and none under this method (7.2 steps per row, to a training energy no
 * higher: 0.27123 against 0.27126). There floors of η/16, η/64 and η/256 gave the same codes; the
 * lowest leaves room for the first layer to grow further over the rest of a 200-epoch run.
 */
export const fistaAdaptiveWide = inferenceMethod({
  name: "fista-adaptive-wide",
  description: "fista-adaptive with steps down to η/256, for decoders whose curvature keeps growing",
  monotone: false,
  infer: (reconstruction, zEnc, z0, energy, options) =>
    proximalGradient("restarting", reconstruction, zEnc, z0, energy, options, {
      growth: 1.25,
      maxFactor: 4,
      minFactor: 1 / 256
    })
})
