import { scaleRowsToUnitNorm } from "../constraints.js"
import type { Selector, UpdateTransform } from "./transform.js"

/** Projection of each selected weight's rows (the paper's atoms, the columns of A) onto the unit sphere. */
export const unitNorm = (select: Selector): UpdateTransform => ({
  name: "unit-norm atoms",
  project: (params) => {
    for (const [name, p] of Object.entries(params)) if (select(name)) scaleRowsToUnitNorm(p)
  }
})
