/**
 * The wasm backend as the Backend service sets it up without a native BLAS (SPARSE_VDL_BLAS=off),
 * in a file of its own: once a native product kernel is installed it stays for the process.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Logger, LogLevel } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { disposeModel, makeModel, trainStep } from "../../src/models/model.js"
import { variants } from "../../src/models/variants.js"
import { type BackendInfo, selectBackend } from "../../src/pipeline/backend/backend.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"

let backend: BackendInfo

beforeAll(async () => {
  process.env.SPARSE_VDL_BLAS = "off"
  backend = await Effect.runPromise(selectBackend("wasm").pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

describe("updates in place and the backend's cached weights", () => {
  // XNNPACK keeps a packed copy of the weights of every product it computes, by tensor: without a
  // native BLAS no parameter may be written in its own storage.
  it.each([
    ["linear", "vdl", { hidden: [] as number[], decoder: "auto" as const }],
    ["mlp", "vdl-nl", { hidden: [12], decoder: "auto" as const }],
    ["conv", "vdl", { hidden: [3], decoder: "conv" as const }]
  ] as const)(
    "after training steps, a %s decoder computes as a fresh copy of its weights does",
    (_label, variant, shape) => {
      const { linalg } = backend
      const settings = {
        ...variants[variant].settings.mnist,
        codeDim: 16,
        batchSize: 8,
        inference: "fista-adaptive" as const,
        ...shape
      }
      const model = makeModel(settings, 64, rngFor(3, "init"), { linalg })
      const x = tf.randomUniform([8, 64], 0, 1, "float32", 5) as tf.Tensor2D
      try {
        for (let step = 0; step < 3; step++)
          expect(Number.isFinite(trainStep(model, x, 0, (t) => t.clone()).energy)).toBe(true)
        // A second model holding the same weights in tensors no kernel has seen yet.
        const fresh = makeModel(settings, 64, rngFor(4, "init"), { linalg })
        // Read from memory into new storage: assign or clone would share the trained tensors' own.
        for (const [name, v] of Object.entries(model.decoder.params))
          tf.tidy(() => fresh.decoder.params[name].assign(tf.tensor(v.dataSync(), v.shape)))
        const codes = tf.relu(tf.randomNormal([8, 16], 0, 1, "float32", 6)) as tf.Tensor2D
        const differences = tf.tidy(() => {
          const used = model.decoder.lossGradients(codes, x)
          const seen = fresh.decoder.lossGradients(codes, x)
          const usedTerm = model.decoder.reconstructionTerm(x)
          const seenTerm = fresh.decoder.reconstructionTerm(x)
          const inference = maxAbsDiff(usedTerm.gradient(codes), seenTerm.gradient(codes))
          usedTerm.dispose()
          seenTerm.dispose()
          return [
            inference,
            maxAbsDiff(used.reconstruction, seen.reconstruction),
            ...Object.keys(seen.grads).map((name) => maxAbsDiff(used.grads[name], seen.grads[name]))
          ]
        })
        for (const d of differences) expect(d).toBeLessThan(1e-5)
        codes.dispose()
        disposeModel(fresh)
      } finally {
        x.dispose()
        disposeModel(model)
      }
    }
  )
})
