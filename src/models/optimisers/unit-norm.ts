import { scaleRowsToUnitNorm } from "../constraints.js"
import { noState, type Parameters, type Selector, type Transform } from "./transform.js"

/**
 * Projection of each selected weight's rows (the paper's atoms, the columns of A) onto the unit
 * sphere: at init, so the constraint holds from the start, and after the step, so it must come
 * after the optimizer in its chain.
 */
export const unitNorm = (select: Selector): Transform => {
  const project = (params: Parameters) => {
    for (const [name, p] of Object.entries(params)) if (select(name)) scaleRowsToUnitNorm(p)
  }
  return {
    name: "unit-norm atoms",
    init: (params) => {
      project(params)
      return noState
    },
    update: (updates, state, params) => {
      const pending = Object.keys(updates)
      if (pending.length > 0)
        throw new Error(
          `the unit-norm projection runs after the step, but the updates of ${pending.join(", ")} are not applied yet: put it after the optimizer in its chain`
        )
      project(params)
      return { updates, state }
    }
  }
}
