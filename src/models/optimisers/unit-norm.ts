import { normalizeRows } from "../constraints.js"
import { applyUpdates, noState, type Parameters, type Selector, type Transform } from "./transform.js"

/**
 * Projection of each selected weight's rows (the paper's atoms, the columns of A) onto the unit
 * sphere: at init, so the constraint holds from the start, and after the step. Updates still
 * pending when it runs (no optimizer before it applied them) are applied first.
 */
export const unitNorm = (select: Selector): Transform => {
  const project = (params: Parameters) => {
    for (const [name, p] of Object.entries(params)) if (select(name)) normalizeRows(p)
  }
  return {
    name: "unit-norm atoms",
    init: (params) => {
      project(params)
      return noState
    },
    update: (updates, state, params) => {
      applyUpdates(params, updates)
      project(params)
      return { applied: true, state }
    }
  }
}
