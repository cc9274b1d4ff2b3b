import type { UpdateTransform } from "./transform.js"

/** The learning rate halved every `every` epochs (0: never), as the paper's -NL decoders train. */
export const lrHalving = (every: number): UpdateTransform => ({
  name: "learning-rate halving",
  learningRate: (lr, { epoch }) => (every > 0 ? lr * Math.pow(0.5, Math.floor(epoch / every)) : lr)
})
