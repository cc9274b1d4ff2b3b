import type { Schema } from "effect"
import { type OptimizerFields, type OptimizerName, optimizerDeclarations } from "./declarations.js"
import type { Transform } from "./transform.js"

export {
  type OptimizerFields,
  type OptimizerName,
  optimizerDocs,
  optimizerFields,
  optimizerNames
} from "./declarations.js"

/**
 * The optimizers with their maths, in the order of their declarations (declarations.ts, the one
 * list a new optimizer joins). Loaded when this module is, so that making a transform stays
 * synchronous; only modules that run the maths import it.
 * A module this loads must not import this one: the import would wait on itself.
 */
export const optimizerKinds: ReadonlyArray<Awaited<ReturnType<(typeof optimizerDeclarations)[number]["load"]>>> =
  await Promise.all(optimizerDeclarations.map((d) => d.load()))

/** The optimizer's transform the settings name. */
export const optimizerOf = (
  settings: Schema.Struct.Type<OptimizerFields> & { readonly optimizer: OptimizerName }
): Transform => {
  const kind = optimizerKinds.find((k) => k.name === settings.optimizer) ?? optimizerKinds[0]
  return (kind.make as (s: typeof settings) => Transform)(settings)
}
