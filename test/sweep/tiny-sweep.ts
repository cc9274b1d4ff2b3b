/**
 * The sweep of the sweep tests: tiny runs on an MNIST folder (the mnist-small fixture or a copy),
 * 8 code components, on wasm, seed 31; by default one run, sdl at λ 0.01, of one epoch of batches
 * of 4 (batchSize null: the preset's, and no --batch-size).
 */
import type { SweepSpec } from "../../src/pipeline/jobs/plan.js"

export interface TinySweep {
  readonly models?: ReadonlyArray<string>
  readonly lambdas?: ReadonlyArray<number>
  readonly epochs?: number
  readonly batchSize?: number | null
}

export const tinySweep = (
  out: string,
  mnistDir: string,
  { models = ["sdl"], lambdas = [0.01], epochs = 1, batchSize = 4 }: TinySweep = {}
): SweepSpec => ({
  models,
  lambdas,
  epochs,
  out,
  seed: 31,
  source: { kind: "dir", dir: mnistDir },
  trainSize: null,
  backend: "wasm",
  overrides: batchSize === null ? { codeDim: 8 } : { codeDim: 8, batchSize },
  passthrough: [
    "--mnist-dir",
    mnistDir,
    "--code-dim",
    "8",
    ...(batchSize === null ? [] : ["--batch-size", String(batchSize)]),
    "--backend",
    "wasm"
  ]
})
