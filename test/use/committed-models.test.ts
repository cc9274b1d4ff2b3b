/**
 * The trained models committed in models/: each opens with loadModel, is the model its card
 * says, and on 1,000 of the embedded digits (another sample of MNIST than the card's test split)
 * reconstructs from the encoder's codes within 0.25 dB and 0.01 zeros of the card's test
 * figures. The committed MNIST models differ from one another by at least 0.4 dB or 0.018 zeros,
 * so a file exported from the wrong run or epoch fails here.
 */
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { psnrSumOfSquaredErrors } from "../../src/models/metrics.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { cliData, env } from "../helpers/mnist-runs.js"
import { pixelsOf } from "./small-run.js"

const folder = join(import.meta.dirname, "..", "..", "models")
const files = existsSync(folder) ? readdirSync(folder).filter((n) => n.endsWith(".safetensors")) : []
const card = (file: string) => JSON.parse(readFileSync(join(folder, file.replace(/\.safetensors$/, ".json")), "utf8"))

/** Mean PSNR per row in pixels, as training reports it. */
const meanPsnr = (pixels: Float32Array, reconstruction: Float32Array, dim: number) => {
  const rows = pixels.length / dim
  const rowSums = Array.from({ length: rows }, (_, r) => {
    let se = 0
    for (let i = r * dim; i < (r + 1) * dim; i++) se += (pixels[i] - reconstruction[i]) ** 2
    return se
  })
  return psnrSumOfSquaredErrors(rowSums, dim) / rows
}

describe("the committed models", () => {
  it("are the ones models/README.md lists, each with its card", () => {
    const listed = [...readFileSync(join(folder, "README.md"), "utf8").matchAll(/`([\w.-]+\.safetensors)`/g)].map(
      (m) => m[1]
    )
    for (const file of files) {
      expect(listed).toContain(file)
      expect(existsSync(join(folder, file.replace(/\.safetensors$/, ".json")))).toBe(true)
    }
  })

  for (const file of files.filter((f) => f.startsWith("mnist-"))) {
    it.effect(`${file} loads and reconstructs MNIST digits as its card says`, () =>
      Effect.gen(function* () {
        const c = card(file)
        const data = yield* cliData(1000, 5)
        const rows = Math.min(1000, data.test.rows)
        const pixels = pixelsOf(data.test, rows)
        const before = tf.memory().numTensors
        const { codes, reconstruction, codeDim, variant } = yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel(join(folder, file))
            return {
              codes: yield* model.encode(pixels),
              reconstruction: yield* model.reconstruct(pixels, { codes: "encoder" }),
              codeDim: model.codeDim,
              variant: model.variant
            }
          })
        )
        expect(tf.memory().numTensors).toBe(before)
        expect([variant, codeDim]).toEqual([c.model, c.settings.codeDim])
        expect(codes.length).toBe(rows * codeDim)
        expect(codes.every((v) => v >= 0 && Number.isFinite(v))).toBe(true)
        const zeros = codes.filter((v) => v === 0).length / codes.length
        expect(Math.abs(zeros - c.test.zeroFraction)).toBeLessThan(0.01)
        expect(Math.abs(meanPsnr(pixels, reconstruction, 784) - c.test.psnr)).toBeLessThan(0.25)
      }).pipe(Effect.provide(env()))
    )
  }

  for (const file of files.filter((f) => f.startsWith("patches-"))) {
    it.effect(`${file} loads and encodes patch-sized rows into non-negative codes`, () =>
      Effect.gen(function* () {
        const c = card(file)
        const { codes, codeDim, rows } = yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel(join(folder, file))
            const dim = model.pixelShape.height * model.pixelShape.width
            // Smooth gradients with a little texture: natural-image-like rows in [0, 1].
            const pixels = Float32Array.from({ length: 50 * dim }, (_, i) => {
              const r = Math.floor(i / dim)
              const p = i % dim
              return 0.5 + 0.3 * Math.sin((p % model.pixelShape.width) * 0.3 + r) * Math.cos(p * 0.01 * (r + 1))
            })
            return { codes: yield* model.encode(pixels), codeDim: model.codeDim, rows: 50 }
          })
        )
        expect(codeDim).toBe(c.settings.codeDim)
        expect(codes.length).toBe(rows * codeDim)
        expect(codes.every((v) => v >= 0 && Number.isFinite(v))).toBe(true)
        expect(codes.some((v) => v > 0)).toBe(true)
      }).pipe(Effect.provide(env()))
    )
  }
})
