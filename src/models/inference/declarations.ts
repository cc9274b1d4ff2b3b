/**
 * The inference methods settings can name, the first the default: the one registration of a
 * method. A new method is its own file (made with inferenceMethod) and one entry here, its name
 * and how to load it; registry.ts loads it and checks the name. This file loads no TensorFlow.js,
 * so that the settings Schema and the command-line help do not either.
 */
export const inferenceDeclarations = [
  { name: "fista", load: () => import("./fista.js").then((m) => m.fista) },
  { name: "ista", load: () => import("./ista.js").then((m) => m.ista) },
  { name: "fista-restart", load: () => import("./fista-restart.js").then((m) => m.fistaRestart) },
  { name: "fista-adaptive", load: () => import("./fista-adaptive.js").then((m) => m.fistaAdaptive) },
  {
    name: "fista-adaptive-scaled",
    load: () => import("./fista-adaptive-scaled.js").then((m) => m.fistaAdaptiveScaled)
  },
  { name: "fista-adaptive-wide", load: () => import("./fista-adaptive-wide.js").then((m) => m.fistaAdaptiveWide) }
] as const

export type InferenceName = (typeof inferenceDeclarations)[number]["name"]

export const inferenceNames = inferenceDeclarations.map((m) => m.name) as [InferenceName, ...InferenceName[]]
