/** Every normalisation a checkpoint can record maps pixels into the model's input space and back. */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { CROP_SIZE, PATCH_OFFSET, PATCH_SIZE } from "../../src/models/lcn.js"
import {
  type InputSpace,
  lcnNormalization,
  lcnOfPatchMetadata,
  pixelsToInputSpace
} from "../../src/pipeline/sources/normalization.js"
import { mnistNormalization } from "../../src/pipeline/sources/mnist-normalization.js"
import { maxAbsDiff, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()

const uniform = (n: number, seed: number) => {
  const rng = seeded(seed)
  return Float32Array.from({ length: n }, () => rng.next())
}

const backToPixels = (space: InputSpace, pixels: Float32Array, rows: number) => {
  const normalized = pixelsToInputSpace(space, pixels, rows)
  const dim = space.height * space.width
  return {
    x: normalized.x,
    pixels: tf.tidy(() =>
      Float32Array.from(
        normalized
          .toPixels(
            tf.tensor2d(normalized.x, [rows, dim]),
            Int32Array.from({ length: rows }, (_, i) => i)
          )
          .dataSync() as Float32Array
      )
    )
  }
}

describe("normalisations", () => {
  it("global, per-feature and none: into the input space and back to the same pixels", () => {
    const pixels = uniform(3 * 6, 1)
    const global = backToPixels(
      { height: 2, width: 3, normalization: { kind: "global", mean: 0.25, std: 0.5 } },
      pixels,
      3
    )
    expect(global.x[4]).toBeCloseTo((pixels[4] - 0.25) / 0.5, 6)
    expect(maxAbsDiff(global.pixels, pixels)).toBeLessThan(1e-6)
    const mean = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    const std = [1, 2, 0.5, 1, 1, 4]
    const perFeature = backToPixels(
      { height: 2, width: 3, normalization: { kind: "per-feature", mean, std } },
      pixels,
      3
    )
    expect(perFeature.x[6 + 2]).toBeCloseTo((pixels[6 + 2] - 0.3) / 0.5, 6)
    expect(maxAbsDiff(perFeature.pixels, pixels)).toBeLessThan(1e-6)
    const none = backToPixels({ height: 2, width: 3, normalization: { kind: "none" } }, pixels, 3)
    expect(none.x).toEqual(pixels)
    expect(none.pixels).toEqual(pixels)
    const mnist = backToPixels({ height: 1, width: 6, normalization: mnistNormalization }, pixels, 3)
    expect(mnist.x[0]).toBeCloseTo((pixels[0] - 0.1307) / 0.3081, 6)
  })

  it("LCN: a 52×52 crop becomes a 28×28 patch, and back the crop's centre", () => {
    const rows = 2
    const crops = uniform(rows * CROP_SIZE * CROP_SIZE, 2)
    for (const scaleReference of [null, 0.4]) {
      const space: InputSpace = {
        height: PATCH_SIZE,
        width: PATCH_SIZE,
        normalization: lcnNormalization(scaleReference)
      }
      const { x, pixels } = backToPixels(space, crops, rows)
      expect(x.length).toBe(rows * PATCH_SIZE * PATCH_SIZE)
      const centre = new Float32Array(rows * PATCH_SIZE * PATCH_SIZE)
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < PATCH_SIZE; i++)
          for (let j = 0; j < PATCH_SIZE; j++)
            centre[(r * PATCH_SIZE + i) * PATCH_SIZE + j] =
              crops[r * CROP_SIZE * CROP_SIZE + (i + PATCH_OFFSET) * CROP_SIZE + j + PATCH_OFFSET]
      expect(maxAbsDiff(pixels, centre)).toBeLessThan(1e-5)
    }
  })

  it("reads the LCN of a patch file from its build metadata", () => {
    const metadata = (scaleFloor: unknown) => ({ preprocessing: JSON.stringify({ crop: 52, scaleFloor }) })
    expect(lcnOfPatchMetadata(metadata({ mode: "data", level: 0.7, crops: 1000 }))).toEqual(lcnNormalization(0.7))
    expect(lcnOfPatchMetadata(metadata({ mode: "patch" }))).toEqual(lcnNormalization(null))
    expect(lcnOfPatchMetadata({})).toBeNull()
    expect(lcnOfPatchMetadata({ preprocessing: "{not json" })).toBeNull()
  })
})
