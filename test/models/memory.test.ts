/**
 * Tensor bookkeeping: a training run must not accumulate tensors from batch to batch, and the
 * inference and evaluation entry points must release everything they allocate.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { energy, smoothGradient } from "../../src/models/energy.js"
import { inferenceMethods } from "../../src/models/inference/registry.js"
import { affineToPixels } from "../../src/models/metrics.js"
import { disposeModel, evaluateBatch, makeModel, trainStep } from "../../src/models/model.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { gaussian, leakCheck, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()

const inputDim = 20
const rows = 16
const toPixels = affineToPixels(0.1307, 0.3081)

const small = (name: "sdl" | "sdl-nl" | "vdl" | "vdl-nl"): ModelSettings => {
  const s = variants[name].settings.mnist
  return {
    ...s,
    codeDim: 8,
    hidden: s.hidden.length > 0 ? [24] : [],
    batchSize: rows,
    maxSteps: 30,
    // Exercise the halving schedule and every decay path.
    decoderLrHalvingEvery: s.decoderLrHalvingEvery > 0 ? 1 : 0,
    encoderBiasDecay: 0.01
  }
}

const batchesOf = (seed: number, count: number): tf.Tensor2D[] => {
  const rng = seeded(seed)
  return Array.from({ length: count }, () => tf.tensor2d(gaussian(rng, rows, inputDim), [rows, inputDim]))
}

describe("tensor counts", () => {
  for (const name of ["sdl", "sdl-nl", "vdl", "vdl-nl"] as const) {
    it(`trainStep keeps tf.memory().numTensors flat over 3 epochs × 5 batches (${name}), and disposeModel releases the model`, () => {
      const start = tf.memory().numTensors
      const batches = batchesOf(3, 5)
      const model = makeModel(small(name), inputDim, seeded(4))
      try {
        const counts: number[][] = []
        for (let epoch = 0; epoch < 3; epoch++) {
          const perBatch: number[] = []
          for (const x of batches) {
            const totals = trainStep(model, x, epoch, toPixels)
            expect(Number.isFinite(totals.energy)).toBe(true)
            perBatch.push(tf.memory().numTensors)
          }
          counts.push(perBatch)
        }
        const afterFirst = counts[0][0]
        // Flat after the first batch: every later batch ends with the same count...
        expect(counts.flat()).toEqual(new Array(15).fill(afterFirst))
        // ...in particular the end of epoch 1 and the end of epoch 3.
        expect(counts[2][4]).toBe(counts[0][4])
      } finally {
        disposeModel(model)
        batches.forEach((x) => x.dispose())
      }
      expect(tf.memory().numTensors).toBe(start)
    })
  }

  it("evaluateBatch leaks nothing (linear and hidden-layer models)", () => {
    const batches = batchesOf(5, 2)
    for (const name of ["sdl", "vdl-nl"] as const) {
      const model = makeModel(small(name), inputDim, seeded(6))
      try {
        for (const x of batches) {
          const totals = leakCheck(() => evaluateBatch(model, x, toPixels))
          expect(totals.rows).toBe(rows)
        }
      } finally {
        disposeModel(model)
      }
    }
    batches.forEach((x) => x.dispose())
  })

  it("every inference method, reconstructionTerm, smoothGradient and energy leak nothing (β = 0 and β > 0, ν = 0 and ν > 0, linear and hidden layer)", () => {
    const [x] = batchesOf(7, 1)
    for (const name of ["sdl", "sdl-nl", "vdl", "vdl-nl"] as const) {
      const model = makeModel({ ...small(name), covariance: name.startsWith("vdl") ? 0.5 : 0 }, inputDim, seeded(8))
      const w = model.composition.energy
      try {
        const z0 = tf.relu(tf.randomNormal([rows, 8], 0, 1, "float32", 9)) as tf.Tensor2D
        leakCheck(() => {
          const term = model.decoder.reconstructionTerm(x)
          for (const method of inferenceMethods) {
            for (const step of [{ kind: "lipschitz" } as const, { kind: "fixed", eta: 0.1 } as const]) {
              const r = method.infer(term, z0, z0, w, { maxSteps: 25, tol: 1e-3, step, onStep: () => undefined })
              expect(r.codes.shape).toEqual([rows, 8])
              r.codes.dispose()
            }
          }
          smoothGradient(term, z0, z0, w).dispose()
          term.dispose()
          energy(model.decoder, x, z0, z0, w)
        })
        z0.dispose()
      } finally {
        disposeModel(model)
      }
    }
    x.dispose()
  })
})
