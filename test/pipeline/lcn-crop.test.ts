/**
 * The LCN crop size is a checked whole number, not the paper's 52 alone: checkpoints recording
 * 52 (patch 28) still decode, another crop decodes with the patch it gives, and the LCN of a
 * smaller crop is the same local map as the paper's on the pixels they share.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { CROP_SIZE, lcnPatchSize, makeLcn, MIN_CROP_SIZE, PATCH_OFFSET, PATCH_SIZE } from "../../src/models/lcn.js"
import {
  type InputSpace,
  lcnNormalization,
  Normalization,
  pixelsToInputSpace
} from "../../src/pipeline/sources/normalization.js"
import { maxAbsDiff, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()

const decode = (raw: unknown) => Schema.decodeUnknownEither(Normalization)(raw)

describe("the LCN crop size", () => {
  it("decodes the paper's crop as before, another crop with its own patch, and refuses a patch that does not follow", () => {
    expect(decode({ kind: "lcn", crop: 52, patch: 28, scaleReference: 0.5 })).toEqual(
      Either.right({ kind: "lcn", crop: 52, patch: 28, scaleReference: 0.5 })
    )
    expect(Either.isRight(decode({ kind: "lcn", crop: 40, patch: 16, scaleReference: null }))).toBe(true)
    const wrong = decode({ kind: "lcn", crop: 52, patch: 27, scaleReference: null })
    expect(Either.isLeft(wrong) && wrong.left.message).toContain("a crop of 52 gives an LCN patch of 28, not 27")
    expect(Either.isLeft(decode({ kind: "lcn", crop: MIN_CROP_SIZE - 1, patch: 1, scaleReference: null }))).toBe(true)
    expect(Either.isLeft(decode({ kind: "lcn", crop: 40.5, patch: 16, scaleReference: null }))).toBe(true)
    expect(lcnNormalization(0.3)).toEqual({ kind: "lcn", crop: CROP_SIZE, patch: PATCH_SIZE, scaleReference: 0.3 })
    expect(() => makeLcn(null, MIN_CROP_SIZE - 1)).toThrow(RangeError)
  })

  it("a 40×40 crop's 16×16 patch is the middle of the 52×52 crop's 28×28 patch under one data-wide level", () => {
    const rng = seeded(3)
    const image = Float32Array.from({ length: CROP_SIZE * CROP_SIZE }, () => rng.next())
    const level = 0.4
    const big = makeLcn(level)({ pixels: image, width: CROP_SIZE, top: 0, left: 0 })
    const offset = 6
    const small = makeLcn(level, 40)({ pixels: image, width: CROP_SIZE, top: offset, left: offset })
    const side = lcnPatchSize(40)
    expect(small.patch.length).toBe(side * side)
    const middle = new Float32Array(side * side)
    for (let i = 0; i < side; i++)
      for (let j = 0; j < side; j++) middle[i * side + j] = big.patch[(i + offset) * PATCH_SIZE + j + offset]
    expect(maxAbsDiff(small.patch, middle)).toBeLessThan(1e-5)
  })

  it("normalises 40×40 crops into 16×16 inputs and maps them back to the crops' centres", () => {
    const rng = seeded(4)
    const rows = 2
    const crops = Float32Array.from({ length: rows * 40 * 40 }, () => rng.next())
    const space: InputSpace = { height: 16, width: 16, normalization: lcnNormalization(null, 40) }
    const normalized = pixelsToInputSpace(space, crops, rows)
    expect(normalized.x.length).toBe(rows * 256)
    const pixels = tf.tidy(
      () =>
        normalized.toPixels(tf.tensor2d(normalized.x, [rows, 256]), Int32Array.from([0, 1])).dataSync() as Float32Array
    )
    const centre = new Float32Array(rows * 256)
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < 16; i++)
        for (let j = 0; j < 16; j++)
          centre[r * 256 + i * 16 + j] = crops[r * 1600 + (i + PATCH_OFFSET) * 40 + j + PATCH_OFFSET]
    expect(maxAbsDiff(Float32Array.from(pixels), centre)).toBeLessThan(1e-5)
  })
})
