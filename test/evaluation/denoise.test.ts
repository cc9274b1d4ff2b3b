import { fc, it as fcIt } from "@fast-check/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { MNIST_MEAN, MNIST_STD } from "../../src/data/mnist/normalize.js"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { variants } from "../../src/models/variants.js"
import type { Dataset } from "../../src/pipeline/sources/dataset.js"
import { evenBatches } from "../../src/pipeline/evaluation/codes.js"
import { addNoise, denoiseModel, meanPsnr, standardNoise } from "../../src/pipeline/evaluation/denoise.js"
import { dataRecipe, type RunFolder } from "../../src/pipeline/evaluation/run-folder.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { gaussian, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()

/** Images of side × side values in MNIST's normalised space, mapped back to pixels as MNIST is. */
const syntheticDataset = (rows: number, side: number, seed: number): Dataset => {
  const dim = side * side
  const x = Float32Array.from(gaussian(seeded(seed), rows, dim, 0.5), (v) => v - 0.2)
  return {
    name: "synthetic",
    x,
    rows,
    dim,
    height: side,
    width: side,
    labels: null,
    toPixels: (t) => tf.tidy(() => tf.add(tf.mul(t, MNIST_STD), MNIST_MEAN))
  }
}

/** PSNR in dB of additive noise of standard deviation s in pixel space, for an MSE of exactly s². */
const analyticPsnr = (s: number) => -20 * Math.log10(s)

describe("PSNR of noisy inputs", () => {
  const ds = syntheticDataset(50, 28, 1)

  it("is 40 dB for identical images (the 1e-4 MSE floor)", () => {
    expect(meanPsnr(ds, ds.x, ds.x)).toBeCloseTo(40, 4)
  })

  it("equals −20·log₁₀(σ·std) for noise of exactly σ in every pixel of the normalised space", () => {
    const signs = Float32Array.from({ length: ds.x.length }, (_, i) => (i % 2 === 0 ? 1 : -1))
    for (const sigma of [0.25, 1, 2]) {
      expect(meanPsnr(ds, ds.x, addNoise(ds.x, signs, sigma))).toBeCloseTo(analyticPsnr(sigma * MNIST_STD), 3)
    }
  })

  it("matches the analytic value for seeded Gaussian noise, and the same seed gives the same noise", () => {
    const noise = standardNoise(7, ds.x.length)
    expect(standardNoise(7, ds.x.length)).toEqual(noise)
    expect(standardNoise(8, ds.x.length)).not.toEqual(noise)
    // 50 images of 784 pixels: the sample MSE is within a few percent of σ², i.e. within 0.1 dB.
    expect(Math.abs(meanPsnr(ds, ds.x, addNoise(ds.x, noise, 1)) - analyticPsnr(MNIST_STD))).toBeLessThan(0.1)
  })
})

describe("evaluation batches", () => {
  fcIt.prop([fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 300 })])(
    "cover the rows in order, none larger than the batch, sizes within one",
    (rows, size) => {
      const batches = evenBatches(rows, size)
      expect(batches.length).toBe(Math.ceil(rows / size))
      let next = 0
      for (const [start, end] of batches) {
        expect(start).toBe(next)
        expect(end - start).toBeLessThanOrEqual(size)
        next = end
      }
      expect(next).toBe(rows)
      const sizes = batches.map(([a, b]) => b - a)
      if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
  )
})

describe("denoising a model", () => {
  it("reports the noisy input's analytic PSNR, 40 dB at σ = 0, both code kinds, and pictures, without leaking tensors", async () => {
    const ds = syntheticDataset(30, 6, 2)
    const settings = { ...variants.vdl.settings.mnist, codeDim: 12, batchSize: 10 }
    const model = makeModel(settings, ds.dim, rngFor(1, "init"))
    const signs = Float32Array.from({ length: ds.x.length }, (_, i) => ((i * 7) % 3 === 0 ? 1 : -1))
    const before = tf.memory().numTensors
    const result = await Effect.runPromise(
      denoiseModel(model, ds, { sigmas: [0, 0.5, 2], noise: signs, examples: 4 }, "test").pipe(
        Effect.provide(ProgressSilent)
      )
    )
    expect(tf.memory().numTensors).toBe(before)
    disposeModel(model)

    expect(result.levels.map((l) => [l.sigma, l.kind])).toEqual([
      [0, "encoder"],
      [0, "fista"],
      [0.5, "encoder"],
      [0.5, "fista"],
      [2, "encoder"],
      [2, "fista"]
    ])
    for (const l of result.levels) {
      expect(l.noisyPsnr).toBeCloseTo(l.sigma === 0 ? 40 : analyticPsnr(l.sigma * MNIST_STD), 3)
      for (const v of [l.denoisedPsnr, l.cleanPsnr]) expect(Number.isFinite(v)).toBe(true)
      for (const v of [l.cleanZeroFraction, l.noisyZeroFraction]) expect(v >= 0 && v <= 1).toBe(true)
      // FISTA descends the energy from the encoder's codes, so it takes steps; the encoder takes none.
      expect(l.meanFistaSteps > 0).toBe(l.kind === "fista")
      if (l.sigma === 0) {
        expect(l.denoisedPsnr).toBeCloseTo(l.cleanPsnr, 5)
        expect(l.noisyZeroFraction).toBeCloseTo(l.cleanZeroFraction, 6)
      }
    }
    const { examples } = result
    expect(examples.count).toBe(4)
    const cleanPixels = Float32Array.from(ds.x.subarray(0, 4 * ds.dim), (v) => v * MNIST_STD + MNIST_MEAN)
    Array.from(examples.clean).forEach((v, i) => expect(v).toBeCloseTo(cleanPixels[i], 5))
    expect(examples.noisy).toHaveLength(3)
    expect(Array.from(examples.noisy[0])).toEqual(Array.from(examples.clean))
    expect(Math.abs(examples.noisy[2][0] - examples.clean[0])).toBeCloseTo(2 * MNIST_STD, 4)
    for (const kind of ["encoder", "fista"] as const) {
      expect(examples.denoised[kind]).toHaveLength(3)
      expect(examples.denoised[kind].every((a) => a.length === 4 * ds.dim && a.some((v) => v !== 0))).toBe(true)
    }
  })
})

describe("a run's data", () => {
  const run = (data: Record<string, unknown>): RunFolder => ({
    dir: "/runs/x",
    name: "x",
    model: "vdl",
    seed: 3,
    settings: variants.vdl.settings.mnist,
    summary: { data }
  })

  it("comes from the source the run recorded, or the one given instead, and runs on the same data share it", () => {
    const mnist = Effect.runSync(dataRecipe(run({ mnist: { kind: "embedded" } }), {}))
    expect(mnist.describe).toBe("MNIST from embedded, split with seed 3")
    const moved = Effect.runSync(dataRecipe(run({ mnist: { kind: "dir", dir: "/old" } }), { mnistDir: "/new" }))
    expect(moved.describe).toBe("MNIST from folder /new, split with seed 3")
    const patches = Effect.runSync(dataRecipe(run({ patchFile: "/data/patches.arrow" }), { mnistDir: "/new" }))
    expect(patches.describe).toBe("patches from /data/patches.arrow")
    expect(Effect.runSync(dataRecipe(run({ mnist: { kind: "embedded" } }), {})).key).toBe(mnist.key)
  })

  it("names the fix when the summary does not say where the data came from", () => {
    const result = Effect.runSync(Effect.either(dataRecipe(run({}), {})))
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left.message).toMatch(/run folder \/runs\/x: .*pass --mnist-dir/)
  })
})
