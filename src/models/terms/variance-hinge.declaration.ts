import type { TermDeclaration } from "./term.js"
import { NonNegative } from "./fields.js"

const fields = { beta: NonNegative, tau: NonNegative }

/** The variance hinge's settings (its maths: variance-hinge.ts). */
export const varianceHingeDeclaration: TermDeclaration<typeof fields> = {
  name: "variance",
  description: "β Σⱼ max(0, τ − σⱼ)², the hinge on each code component's batch standard deviation",
  fields,
  docs: {
    beta: { label: "β (variance)", help: "variance hinge weight β", cli: "number" },
    tau: { label: "τ (target std)", help: "variance target τ", cli: "number" }
  },
  load: () => import("./variance-hinge.js").then((m) => m.varianceHinge)
}
