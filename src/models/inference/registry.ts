import { fista } from "./fista.js"
import { fistaAdaptive } from "./fista-adaptive.js"
import { fistaRestart } from "./fista-restart.js"
import { ista } from "./ista.js"
import type { InferenceMethod } from "./method.js"

/** The inference methods settings can name; the first is the default. A new method is its own file and one entry here. */
export const inferenceMethods = [
  fista,
  ista,
  fistaRestart,
  fistaAdaptive
] as const satisfies ReadonlyArray<InferenceMethod>

export type InferenceName = (typeof inferenceMethods)[number]["name"]

export const inferenceNames = inferenceMethods.map((m) => m.name) as [InferenceName, ...InferenceName[]]

export const inferenceByName = (name: InferenceName): InferenceMethod =>
  inferenceMethods.find((m) => m.name === name) ?? fista
