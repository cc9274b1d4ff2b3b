import type { TermDeclaration } from "./term.js"
import { OptionalWeight } from "./fields.js"

const fields = { covariance: OptionalWeight }

/** The covariance penalty's settings (its maths: covariance.ts). */
export const covarianceDeclaration: TermDeclaration<typeof fields> = {
  name: "covariance",
  description: "(ν/l) Σ_{j≠k} C_jk², VICReg's penalty on the off-diagonal batch covariance of the codes",
  fields,
  docs: {
    covariance: { label: "ν (covariance)", help: "covariance (decorrelation) penalty weight ν, 0 off", cli: "number" }
  },
  load: () => import("./covariance.js").then((m) => m.covariance)
}
