/** compareInference: every method on the same batches of a model, with what each cost and reached. */
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { compareInference } from "../../src/pipeline/evaluation/inference-steps.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"

describe("compareInference", () => {
  it.effect("reports each method's steps, rows at the limit and energy on the same rows, and frees its tensors", () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      // A step far too long for a fresh two-layer decoder: FISTA diverges, fista-adaptive cannot cut below
      // its floor of η/4 = 1 and diverges too, fista-adaptive-wide cuts to the curvature and converges.
      const settings = smallSettings("vdl-nl", { hidden: [32], eta: 4, maxSteps: 200, batchSize: 50 })
      const model = makeModel(settings, 784, rngFor(3, "init"))
      try {
        const before = tf.memory().numTensors
        const [fista, adaptive, wide] = compareInference(model, data.train.x, 200, [
          "fista",
          "fista-adaptive",
          "fista-adaptive-wide"
        ])
        expect(tf.memory().numTensors).toBe(before)
        for (const r of [fista, adaptive, wide]) {
          expect(r.rows).toBe(200)
          expect(r.meanSteps).toBeGreaterThanOrEqual(1)
          expect(r.meanSteps).toBeLessThanOrEqual(r.maxSteps)
          expect(r.maxSteps).toBeLessThanOrEqual(200)
          expect(r.rowsAtLimit).toBeLessThanOrEqual(r.rows)
        }
        expect(Number.isFinite(wide.energy)).toBe(true)
        expect(fista.rowsAtLimit).toBeGreaterThan(fista.rows / 2)
        expect(adaptive.rowsAtLimit).toBeGreaterThan(adaptive.rows / 2)
        expect(wide.rowsAtLimit).toBe(0)
        expect(wide.meanSteps).toBeLessThan(20)
        // The diverged codes' energy is far above the converged ones', or not finite at all.
        for (const r of [fista, adaptive]) expect(r.energy <= 10 * wide.energy).toBe(false)
      } finally {
        disposeModel(model)
      }
    }).pipe(Effect.provide(env()))
  )
})
