import * as Schema from "effect/Schema"
import { NonNegative } from "../terms/fields.js"
import type { OptimizerDeclaration } from "./kind.js"

const fields = { decoupledWeightDecay: Schema.optionalWith(NonNegative, { default: () => 0.01, exact: true }) }

/** AdamW's settings (its maths: adamw.ts). */
export const adamwDeclaration: OptimizerDeclaration<"adamw", typeof fields> = {
  name: "adamw",
  description: "AdamW: Adam with weight decay decoupled from the gradient (PyTorch's AdamW)",
  fields,
  docs: {
    decoupledWeightDecay: {
      label: "AdamW weight decay",
      help: "decoupled weight decay of --optimizer adamw, on every parameter",
      cli: "number"
    }
  },
  load: () => import("./adamw.js").then((m) => m.adamwKind)
}
