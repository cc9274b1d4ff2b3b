import { type FusedPass, wasmKernelLoads } from "./fused-step.js"

/**
 * Where inference's per-entry pass runs: "device" as TensorFlow.js operations on the backend's
 * own tensors (device-pass.ts), or on the host, "wasm-simd" (the WebAssembly SIMD kernel wherever
 * it applies) or "javascript" (its reference). The first is what a backend with a device of its
 * own takes, the second what the others take.
 */
export const inferencePasses = ["device", "wasm-simd", "javascript"] as const

export type InferencePass = FusedPass | "device"

/** The pass a backend takes unless one is asked for: a backend with a device keeps the iterates there. */
export const passForBackend = (hasDevice: boolean): InferencePass => (hasDevice ? "device" : "wasm-simd")

/** Why a value names no pass (with the names to choose from), or null. */
export const inferencePassProblem = (value: unknown): string | null =>
  (inferencePasses as ReadonlyArray<unknown>).includes(value)
    ? null
    : `inference pass ${JSON.stringify(value)} is unknown; choose one of ${inferencePasses.join(", ")}`

/** The pass in words, for the start-up log. */
export const describePass = (pass: InferencePass): string => {
  if (pass === "device") return "inference pass: TensorFlow.js operations on the backend's device"
  if (pass === "javascript") return "inference pass: JavaScript (as asked)"
  return wasmKernelLoads()
    ? "inference pass: WebAssembly SIMD"
    : "inference pass: JavaScript (this runtime lacks WebAssembly SIMD)"
}
