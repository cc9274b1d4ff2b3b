import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Layer, Logger } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { variants } from "../../src/models/variants.js"
import { BackendLive } from "../../src/pipeline/backend/backend.js"
import { snapshotModel, writeCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { mnistNormalization } from "../../src/pipeline/sources/mnist-normalization.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { env } from "../helpers/mnist-runs.js"
import { pixelsOf, smallRun } from "./small-run.js"

const meanPsnr = (reference: Float32Array, estimate: Float32Array, dim: number) => {
  const rows = reference.length / dim
  let sum = 0
  for (let r = 0; r < rows; r++) {
    let se = 0
    for (let j = r * dim; j < (r + 1) * dim; j++) se += (reference[j] - estimate[j]) ** 2
    sum += 10 * Math.log10(1 / (se / dim))
  }
  return sum / rows
}

const fixture = join(__dirname, "..", "fixtures", "run-format-1")

/** Log lines, kept for the assertions. */
const capturing = () => {
  const lines: string[] = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => lines.push(Array.isArray(message) ? message.join(" ") : String(message)))
  )
  return { lines, layer: Layer.mergeAll(NodeContext.layer, ProgressSilent, BackendLive("wasm"), logger) }
}

describe("a loaded model", () => {
  it.effect(
    "encodes, infers, reconstructs and denoises rows of pixels, normalising them as in training and undoing it",
    () =>
      Effect.gen(function* () {
        const { data, out, summary } = yield* smallRun
        const before = tf.memory().numTensors
        yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel(out)
            expect(model.input).toEqual({ height: 28, width: 28, normalization: mnistNormalization })
            expect(model.pixelShape).toEqual({ height: 28, width: 28 })
            const pixels = pixelsOf(data.val)
            const rows = data.val.rows
            const codes = yield* model.encode(pixels)
            expect(codes.length).toBe(rows * 16)
            expect(codes.every((v) => v >= 0)).toBe(true)
            const inferred = yield* model.infer(pixels)
            expect(inferred.length).toBe(rows * 16)
            expect(inferred.every((v) => v >= 0)).toBe(true)
            expect(inferred).not.toEqual(codes)

            // The run evaluated its validation set through the normalisation; from pixels, undone, the figure is the same.
            const fromEncoder = yield* model.reconstruct(pixels, { codes: "encoder" })
            expect(fromEncoder.length).toBe(rows * 784)
            expect(meanPsnr(pixels, fromEncoder, 784)).toBeCloseTo(summary.val.psnr, 2)
            const fromInference = yield* model.reconstruct(pixels)
            expect(meanPsnr(pixels, fromInference, 784)).toBeGreaterThan(10)
            // In pixels, not in the normalised space: on the pixels' level, and nearer each image than the next one.
            const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length
            expect(Math.abs(mean(fromInference) - mean(pixels))).toBeLessThan(0.05)
            const next = Float32Array.from(pixels, (_, i) => pixels[(i + 784) % pixels.length])
            expect(meanPsnr(pixels, fromInference, 784)).toBeGreaterThan(meanPsnr(next, fromInference, 784) + 2)

            const denoised = yield* model.denoise(pixels, { sigma: 1.5, seed: 4 })
            expect(denoised.noisy.length).toBe(rows * 784)
            expect(denoised.denoised.length).toBe(rows * 784)
            expect(denoised.noisyPsnr).toBeCloseTo(meanPsnr(pixels, denoised.noisy, 784), 3)
            expect(denoised.denoisedPsnr).toBeCloseTo(meanPsnr(pixels, denoised.denoised, 784), 3)
            expect(denoised.denoisedPsnr).toBeGreaterThan(denoised.noisyPsnr)
            // The same seed, the same noise.
            expect((yield* model.denoise(pixels, { sigma: 1.5, seed: 4 })).noisy).toEqual(denoised.noisy)

            const during = tf.memory().numTensors
            yield* model.reconstruct(pixels)
            yield* model.denoise(pixels, { sigma: 0.5, codes: "encoder" })
            expect(tf.memory().numTensors, "tensors left by the calls").toBe(during)
          })
        )
        expect(tf.memory().numTensors, "tensors left once the scope closed").toBe(before)
      }).pipe(Effect.provide(env()))
  )

  it.effect("takes image files, made grey and resized to its input", () =>
    Effect.gen(function* () {
      const { data, out } = yield* smallRun
      const dir = mkdtempSync(join(tmpdir(), "use-images-"))
      const pixels = pixelsOf(data.val, 3)
      const bytes = Buffer.from(Array.from(pixels, (p) => Math.round(Math.min(1, Math.max(0, p)) * 255)))
      const paths: string[] = []
      for (let i = 0; i < 3; i++) {
        const path = join(dir, `digit-${i}.png`)
        yield* Effect.promise(() =>
          sharp(bytes.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toFile(path)
        )
        paths.push(path)
      }
      const wide = join(dir, "wide.jpg")
      yield* Effect.promise(() =>
        sharp(bytes.subarray(0, 784), { raw: { width: 28, height: 28, channels: 1 } })
          .resize(84, 56, { fit: "fill" })
          .toColourspace("srgb")
          .jpeg()
          .toFile(wide)
      )
      yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel(out)
          const read = yield* model.readImages(paths)
          // A 28×28 PNG comes back as its 8-bit values.
          expect(read).toEqual(Float32Array.from(bytes, (b) => b / 255))
          const fromFiles = yield* model.encode(read)
          const fromRows = yield* model.encode(Float32Array.from(bytes, (b) => b / 255))
          expect(fromFiles).toEqual(fromRows)
          // Another size and aspect is scaled to cover 28×28 and centre-cropped.
          const resized = yield* model.readImages([wide])
          expect(resized.length).toBe(784)
          expect((yield* model.reconstruct(resized)).length).toBe(784)
        })
      )
    }).pipe(Effect.provide(env()))
  )

  it.effect("refuses rows it cannot take, naming the way out", () =>
    Effect.gen(function* () {
      const { out } = yield* smallRun
      yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel(out)
          const short = yield* Effect.flip(model.encode(new Float32Array(100)))
          expect(short.message).toBe(
            "encode: 100 values are not whole rows of 28×28 = 784 pixels; pass rows × 784 values"
          )
          const nan = new Float32Array(2 * 784)
          nan[784 + 5] = NaN
          expect((yield* Effect.flip(model.infer(nan))).message).toBe(
            "infer: row 1 holds NaN at pixel 5; pass finite pixel values in [0, 1]"
          )
          expect((yield* Effect.flip(model.denoise(new Float32Array(784), { sigma: -1 }))).message).toContain(
            "sigma -1 is not a noise level"
          )
        })
      )
      const missing = yield* Effect.flip(Effect.scoped(loadModel(join(out, "nothing-here"))))
      expect(missing.message).toBe(
        `cannot load a model from ${join(out, "nothing-here")}: it does not exist; pass a run folder or a .safetensors checkpoint`
      )
    }).pipe(Effect.provide(env()))
  )

  it.effect("loads a checkpoint of the first format, assuming MNIST's normalisation and saying so", () => {
    const { lines, layer } = capturing()
    return Effect.gen(function* () {
      yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel(fixture)
          expect(model.input).toEqual({ height: 28, width: 28, normalization: mnistNormalization })
          expect((yield* model.encode(new Float32Array(784))).length).toBe(model.codeDim)
        })
      )
      expect(lines.some((l) => l.includes("does not record its input space; using MNIST's normalisation"))).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("asks for the input space of a checkpoint that neither records nor implies one", () =>
    Effect.gen(function* () {
      const settings = { ...variants.vdl.settings.mnist, codeDim: 4, batchSize: 2 }
      const file = join(mkdtempSync(join(tmpdir(), "use-unknown-")), "model.safetensors")
      const m = makeModel(settings, 6, rngFor(1, "init"))
      yield* writeCheckpoint(file, snapshotModel(m, "vdl", 0))
      disposeModel(m)
      const refused = yield* Effect.flip(Effect.scoped(loadModel(file)))
      expect(refused.message).toContain(
        "it records no normalisation (it was written before checkpoints did) and its 6 inputs are not MNIST's 784; pass the input space"
      )
      const input = { height: 2, width: 3, normalization: { kind: "global" as const, mean: 0.5, std: 0.25 } }
      yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel(file, { input })
          expect(model.input).toEqual(input)
          expect((yield* model.reconstruct(new Float32Array(12).fill(0.5))).length).toBe(12)
        })
      )
      const misfit = yield* Effect.flip(Effect.scoped(loadModel(file, { input: { ...input, width: 4 } })))
      expect(misfit.message).toContain(
        "the input space given describes 2×4 images, but the model takes 6 values; give one that fits the model's 6 inputs"
      )
    }).pipe(Effect.provide(env()))
  )
})
