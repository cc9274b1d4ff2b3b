import type { OptimizerDeclaration } from "./kind.js"

const fields = {}

/** Adam's settings: none (its maths: adam.ts). */
export const adamDeclaration: OptimizerDeclaration<"adam", typeof fields> = {
  name: "adam",
  description: "Adam with PyTorch's defaults (β₁ = 0.9, β₂ = 0.999, ε = 1e-8)",
  fields,
  docs: {},
  load: () => import("./adam.js").then((m) => m.adamKind)
}
