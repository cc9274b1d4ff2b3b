import { noState, type Transform } from "./transform.js"

/** The learning rate halved every `every` epochs (0: never), as the paper's -NL decoders train. */
export const lrHalving = (every: number): Transform => ({
  name: "learning-rate halving",
  init: () => noState,
  update: (updates, state, _params, { learningRate, epoch }) => ({
    updates,
    state,
    learningRate: every > 0 ? learningRate * Math.pow(0.5, Math.floor(epoch / every)) : learningRate
  })
})
