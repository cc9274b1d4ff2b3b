import * as Schema from "effect/Schema"
import { NonNegative } from "../terms/fields.js"
import type { OptimizerDeclaration } from "./kind.js"

const fields = {
  momentum: Schema.optionalWith(NonNegative, { default: () => 0.9, exact: true }),
  nesterov: Schema.optionalWith(Schema.Boolean, { default: () => false, exact: true })
}

/** SGD's settings (its maths: sgd.ts). */
export const sgdDeclaration: OptimizerDeclaration<"sgd", typeof fields> = {
  name: "sgd",
  description: "SGD with momentum μ (PyTorch's form, no dampening), Nesterov's variant optional",
  fields,
  docs: {
    momentum: {
      label: "SGD momentum μ",
      help: "momentum of --optimizer sgd (0: plain gradient descent)",
      cli: "number"
    },
    nesterov: { label: "SGD Nesterov", help: "Nesterov momentum for --optimizer sgd", cli: "yes-no" }
  },
  load: () => import("./sgd.js").then((m) => m.sgdKind)
}
