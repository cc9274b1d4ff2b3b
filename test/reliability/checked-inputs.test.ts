/**
 * Bad rows and options at each entry of the library (datasetFromRows, ownDataSplits, the
 * training loop under train and fit, the backend), each refused before any work with a typed
 * error whose message names the row, column or option and the fix: the table of docs/api.md
 * ("Checked inputs"), case by case. The messages are printed at the end for the record.
 */
import { Effect, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { BackendLive } from "../../src/pipeline/backend/backend.js"
import { datasetFromRows } from "../../src/pipeline/sources/dataset.js"
import { ownDataSplits } from "../../src/pipeline/sources/own-data.js"
import { fit as fitModel, train } from "../../src/promise.js"

const record: Array<[string, string]> = []
afterAll(() => console.info(record.map(([what, message]) => `- ${what}\n  ${message}`).join("\n")))

/** What a call threw or rejected with: its tag and message. */
const refusal = async (what: string, call: () => unknown): Promise<{ tag: string; message: string }> => {
  try {
    await call()
  } catch (e) {
    const error = e as { _tag?: string; message: string }
    record.push([what, error.message])
    return { tag: error._tag ?? "(untagged)", message: error.message }
  }
  throw new Error(`${what}: accepted`)
}

/** 100 rows of 64 pixels in [0, 1], the same on every run. */
const pixels = (rows: number, dim = 64) =>
  Float32Array.from({ length: rows * dim }, (_, i) => ((i * 7919) % 1000) / 1000)
const withNaN = () => {
  const x = pixels(100)
  x[3 * 64 + 17] = NaN
  x[70 * 64 + 2] = Infinity
  return x
}
/** The error an Effect fails with, thrown as itself (runPromise would wrap it). */
const failureOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.flip(effect)).then((e) => {
    throw e
  })
const tiny = { codeDim: 8, batchSize: 10 }

describe("checked inputs", () => {
  it("NaN or infinity: datasetFromRows, ownDataSplits and fit name the count and the first position", async () => {
    expect(await refusal("NaN in datasetFromRows", () => datasetFromRows(withNaN(), 64, { name: "train" }))).toEqual({
      tag: "InputError",
      message:
        "datasetFromRows(train): the rows hold 1 NaN and 1 infinite of 6,400 values, the first at row 3, column 17 (NaN); replace them (with 0, or the column's mean) or drop those rows"
    })
    expect(
      await refusal("NaN in ownDataSplits", () =>
        failureOf(
          ownDataSplits(
            { source: "mine.arrow", x: withNaN(), rows: 100, height: 8, width: 8 },
            { seed: 1, valFraction: 0.1, testFraction: 0.1, normalize: "global" }
          )
        )
      )
    ).toEqual({
      tag: "OwnDataError",
      message:
        "data mine.arrow: the rows hold 1 NaN and 1 infinite of 6,400 values, the first at row 3, column 17 (NaN); replace them (with 0, or the column's mean) or drop those rows"
    })
    const rows = Array.from({ length: 100 }, (_, r) =>
      Array.from(pixels(1)).map((v, j) => (r === 40 && j === 9 ? NaN : v))
    )
    expect(await refusal("NaN in fit", () => fitModel(rows, { backend: "wasm", log: "none" }))).toEqual({
      tag: "InputError",
      message:
        "fit: the rows hold 1 NaN of 6,400 values, the first at row 40, column 9 (NaN); replace them (with 0, or the column's mean) or drop those rows"
    })
  })

  it("values outside [0, 1] without a normalisation: datasetFromRows, ownDataSplits and fit", async () => {
    const bytes = Float32Array.from(pixels(100), (v) => Math.round(v * 255))
    expect(
      await refusal("0–255 pixels in datasetFromRows", () => datasetFromRows(bytes, 64, { name: "train" }))
    ).toEqual({
      tag: "InputError",
      message:
        "datasetFromRows(train): the rows hold 6,360 values outside [0, 1] (from 0 to 255), the first at row 0, column 1 (234), but no normalisation is given, so they are taken as pixels in [0, 1]; scale them into [0, 1] (they look like 0–255 pixels: divide by 255), or pass toPixels and normalization for rows of another scale"
    })
    const own = await refusal("0–255 pixels in ownDataSplits with normalize none", () =>
      failureOf(
        ownDataSplits(
          { source: "mine.arrow", x: bytes, rows: 100, height: 8, width: 8 },
          { seed: 1, valFraction: 0.1, testFraction: 0.1, normalize: "none" }
        )
      )
    )
    expect(own.message).toMatch(
      /^data mine\.arrow: the rows hold 6,360 values outside \[0, 1\].*or normalise them \(normalize "global" or "per-feature"\)$/
    )
    expect(
      await refusal("0–255 pixels in fit", () => fitModel(bytes, { shape: 64, backend: "wasm", log: "none" }))
    ).toMatchObject({
      tag: "InputError",
      message: expect.stringMatching(/^fit: the rows hold 6,360 values outside \[0, 1\]/)
    })
  })

  it("split widths that disagree and fewer rows than a batch, in the training loop under train", async () => {
    const data = {
      train: datasetFromRows(pixels(100), 64, { name: "train" }),
      val: datasetFromRows(pixels(20, 49), 49, { name: "val" })
    }
    expect(
      await refusal("validation rows of another width", () =>
        train({ model: "sdl", data, epochs: 1, seed: 1, settings: tiny, backend: "wasm", log: "none" })
      )
    ).toEqual({
      tag: "InputError",
      message:
        "training: the validation rows have 49 values each but the training rows have 64; give every split rows of the same width (the same image size)"
    })
    const few = {
      train: datasetFromRows(pixels(10), 64, { name: "train" }),
      val: datasetFromRows(pixels(10), 64, { name: "val" })
    }
    expect(
      await refusal("10 rows, a batch of 50", () =>
        train({
          model: "sdl",
          data: few,
          epochs: 1,
          seed: 1,
          settings: { ...tiny, batchSize: 50 },
          backend: "wasm",
          log: "none"
        })
      )
    ).toEqual({
      tag: "InputError",
      message:
        "training: 10 training rows are fewer than one batch of 50, so an epoch would train nothing; set batchSize (--batch-size) to 10 or less, or give more rows"
    })
    expect(
      await refusal("rows of different lengths in fit", () =>
        fitModel(
          [
            [0, 1],
            [0, 1, 0.5]
          ],
          { log: "none" }
        )
      )
    ).toEqual({
      tag: "InputError",
      message: "fit: row 1 of the rows has 3 values but row 0 has 2; give every row the same width"
    })
  })

  it("an unknown backend, from JavaScript where the type does not stop it", async () => {
    const data = { train: datasetFromRows(pixels(100), 64), val: datasetFromRows(pixels(20), 64) }
    expect(
      await refusal("backend webgl in train", () =>
        train({ model: "sdl", data, epochs: 1, seed: 1, backend: "webgl" as "wasm" })
      )
    ).toEqual({
      tag: "InputError",
      message:
        'train: unknown backend "webgl"; choose one of tensorflow-gpu, tensorflow, wasm, cpu, or give none to use the fastest that loads'
    })
    expect(
      await refusal("backend webgl in fit", () => fitModel(pixels(100), { shape: 64, backend: "webgl" as "wasm" }))
    ).toMatchObject({ tag: "InputError" })
    expect(
      await refusal("backend webgl in BackendLive", () =>
        Effect.runPromise(Effect.provide(Effect.void, Layer.orDie(BackendLive("webgl" as "wasm"))))
      )
    ).toMatchObject({
      message: expect.stringContaining(
        "backend webgl cannot be used: unknown backend; choose one of tensorflow-gpu, tensorflow, wasm, cpu"
      )
    })
  })
})
