import { type InferenceName, inferenceDeclarations } from "./declarations.js"
import type { InferenceMethod } from "./method.js"

export { type InferenceName, inferenceNames } from "./declarations.js"

/**
 * The inference methods, in the order of their declarations (declarations.ts, the one list a new
 * method joins). Loaded when this module is, so that inference stays synchronous; only modules
 * that run the maths import it.
 * A module this loads must not import this one: the import would wait on itself.
 */
export const inferenceMethods: ReadonlyArray<InferenceMethod> = await Promise.all(
  inferenceDeclarations.map(async (d) => {
    const method = await d.load()
    if (method.name !== d.name)
      throw new Error(`inference/declarations.ts declares ${d.name}, and its module names itself ${method.name}`)
    return method
  })
)

export const inferenceByName = (name: InferenceName): InferenceMethod =>
  inferenceMethods.find((m) => m.name === name) ?? inferenceMethods[0]
