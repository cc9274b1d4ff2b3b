import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { tableFromIPC } from "apache-arrow"
import { Effect, Either, Layer } from "effect"
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readGrayImage } from "../../src/data/images.js"
import { readPatchFile } from "../../src/data/patch-file.js"
import { makeLcn, STD_THRESHOLD } from "../../src/models/lcn.js"
import { type BuildOptions, buildPatchFile } from "../../src/pipeline/patches/build.js"
import { loadPatchSplits } from "../../src/pipeline/patches/datasets.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { expectClose, useTestBackend } from "../helpers/tf.js"
import { flat, texture, writePhotos } from "../helpers/photos.js"

useTestBackend()

const root = mkdtempSync(join(tmpdir(), "patch-build-"))
const trainDir = join(root, "train")
const moreDir = join(root, "more")
const testDir = join(root, "test")

// Three formats and shapes for train/val, one flat photo whose crops all fail the std filter,
// a second train folder, and two test photos.
const photos = Promise.all([
  writePhotos(trainDir, [texture("a.png", 90, 70, 1), texture("b.jpg", 64, 120, 2), flat("sky.png", 80, 80)]),
  writePhotos(moreDir, [texture("c.jpeg", 100, 100, 3)]),
  writePhotos(testDir, [texture("t1.jpg", 70, 90, 4), texture("t2.png", 120, 60, 5)])
])

const layer = Layer.mergeAll(ProgressSilent)
const sizes = { train: 60, val: 20, test: 24 }
const options = (out: string, extra: Partial<BuildOptions> = {}): BuildOptions => ({
  images: [trainDir, moreDir],
  testImages: [testDir],
  out,
  sizes,
  seed: 5,
  batchRows: 16,
  ...extra
})

const build = (o: BuildOptions) =>
  Effect.promise(() => photos).pipe(Effect.zipRight(buildPatchFile(o)), Effect.provide(layer))

describe("patch data set builder", () => {
  it.effect("writes the asked sizes per split, from disjoint photos, with the schema and the kept fraction", () =>
    Effect.gen(function* () {
      const out = join(root, "patches.arrow")
      const report = yield* build(options(out))
      const bytes = readFileSync(out)
      const table = tableFromIPC(bytes)
      expect(table.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual([
        "patch: FixedSizeList[784]<Float32>",
        "mean: FixedSizeList[784]<Float32>",
        "scale: FixedSizeList[784]<Float32>",
        "source: Utf8",
        "top: Int32",
        "left: Int32",
        "split: Utf8"
      ])
      expect(table.numRows).toBe(104)
      expect(table.batches.length).toBeGreaterThan(1)
      expect(table.schema.metadata.get("rows.train")).toBe("60")

      const file = yield* readPatchFile(out)
      expect([file.splits.train.rows, file.splits.val.rows, file.splits.test.rows]).toEqual([60, 20, 24])
      const trainVal = new Set([...file.splits.train.source, ...file.splits.val.source])
      const test = new Set(file.splits.test.source)
      for (const s of trainVal) expect(s.startsWith(trainDir) || s.startsWith(moreDir)).toBe(true)
      for (const s of test) expect(s.startsWith(testDir)).toBe(true)
      expect([...trainVal].filter((s) => test.has(s))).toEqual([])
      // Both train folders are used; the flat photo never is.
      expect(trainVal.has(join(moreDir, "c.jpeg"))).toBe(true)
      expect(trainVal.has(join(trainDir, "sky.png"))).toBe(false)

      expect(report.crops.trainVal.kept).toBe(80)
      expect(report.crops.test.kept).toBe(24)
      expect(report.crops.trainVal.crops).toBeGreaterThanOrEqual(80 + 100)
      expect(report.keptFraction).toBeCloseTo(104 / (report.crops.trainVal.crops + report.crops.test.crops), 12)
      expect(report.keptFraction).toBeLessThan(0.7)
      expect(report.images).toMatchObject({ trainVal: 4, test: 2, testFrom: "folders" })
      expect(report.statistics.scale.min).toBeGreaterThan(0)

      // One level for the whole file, measured on the training photos and recorded with it.
      if (report.scaleFloor.mode !== "data") throw new Error("the default scale floor is data-wide")
      expect(report.scaleFloor.level).toBeGreaterThan(0)
      expect(report.scaleFloor.crops).toBeGreaterThanOrEqual(1000)
      expect(JSON.parse(table.schema.metadata.get("preprocessing") ?? "{}").scaleFloor).toEqual(report.scaleFloor)
      for (const v of file.splits.test.scale) expect(v).toBeGreaterThanOrEqual(Math.fround(report.scaleFloor.level))

      // Every row can be recomputed from its photo and crop corner, and passes the filter.
      const lcn = makeLcn(report.scaleFloor.level)
      const split = file.splits.train
      for (const i of [0, 17, 59]) {
        const img = yield* readGrayImage(split.source[i])
        expect(split.top[i] + 52).toBeLessThanOrEqual(img.height)
        expect(split.left[i] + 52).toBeLessThanOrEqual(img.width)
        expect(Math.min(img.width, img.height)).toBe(256)
        const again = lcn({ pixels: img.pixels, width: img.width, top: split.top[i], left: split.left[i] })
        expect(again.std).toBeGreaterThanOrEqual(STD_THRESHOLD)
        expect(again.patch).toEqual(split.patch.subarray(i * 784, (i + 1) * 784))
        expect(again.scale).toEqual(split.scale.subarray(i * 784, (i + 1) * 784))
      }

      // The same seed gives the same file, byte for byte.
      const twin = join(root, "twin.arrow")
      yield* build(options(twin))
      expect(readFileSync(twin).equals(bytes)).toBe(true)
    })
  )

  it.effect("with the patch scale floor, each crop's own mean of s is its floor, and no level is measured", () =>
    Effect.gen(function* () {
      const out = join(root, "patch-floor.arrow")
      const report = yield* build(options(out, { scaleFloor: "patch", sizes: { train: 12, val: 4, test: 4 } }))
      expect(report.scaleFloor).toEqual({ mode: "patch" })
      const file = yield* readPatchFile(out)
      expect(JSON.parse(file.metadata.preprocessing).scaleFloor).toEqual({ mode: "patch" })
      const lcn = makeLcn()
      const split = file.splits.train
      for (const i of [0, 11]) {
        const img = yield* readGrayImage(split.source[i])
        const again = lcn({ pixels: img.pixels, width: img.width, top: split.top[i], left: split.left[i] })
        expect(again.scale).toEqual(split.scale.subarray(i * 784, (i + 1) * 784))
        expect(Math.min(...again.scale)).toBeCloseTo(again.scaleMean, 5)
      }
    })
  )

  it.effect("a patch data set maps patches back to the photo's pixels through the stored μ and s", () =>
    Effect.gen(function* () {
      const out = join(root, "round-trip.arrow")
      yield* build(options(out, { sizes: { train: 8, val: 4, test: 4 } }))
      const { splits } = yield* loadPatchSplits(out)
      const file = yield* readPatchFile(out)
      for (const name of ["train", "val", "test"] as const) {
        const ds = splits[name]
        expect([ds.height, ds.width, ds.dim, ds.labels]).toEqual([28, 28, 784, null])
        const indices = Int32Array.from([3, 0, 2])
        const x = tf.tensor2d(
          Float32Array.from([...indices].flatMap((i) => [...ds.x.subarray(i * 784, (i + 1) * 784)])),
          [3, 784]
        )
        const pixels = ds.toPixels(x, indices).dataSync() as Float32Array
        x.dispose()
        for (const [k, i] of [...indices].entries()) {
          const split = file.splits[name]
          const img = yield* readGrayImage(split.source[i])
          const centre = Float32Array.from(
            { length: 784 },
            (_, p) => img.pixels[(split.top[i] + 12 + Math.floor(p / 28)) * img.width + split.left[i] + 12 + (p % 28)]
          )
          expectClose(pixels.subarray(k * 784, (k + 1) * 784), centre, 0, 2e-6, `${name} row ${i}`)
        }
      }
    })
  )

  it.effect("holds out whole photos for test when no test folder is given", () =>
    Effect.gen(function* () {
      const out = join(root, "held-out.arrow")
      const report = yield* build(
        options(out, { images: [moreDir, testDir], testImages: [], sizes: { train: 20, val: 6, test: 6 } })
      )
      expect(report.images).toMatchObject({ trainVal: 2, test: 1, testFrom: "held out" })
      const file = yield* readPatchFile(out)
      const trainVal = new Set([...file.splits.train.source, ...file.splits.val.source])
      for (const s of file.splits.test.source) expect(trainVal.has(s)).toBe(false)
      expect(file.splits.test.rows).toBe(6)
    })
  )

  it.effect("refuses a photo that is in both the training and the test folders, and photos with no usable crop", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => photos)
      const copyDir = mkdtempSync(join(root, "copy-"))
      copyFileSync(join(trainDir, "a.png"), join(copyDir, "renamed.png"))
      const shared = yield* Effect.either(build(options(join(root, "x.arrow"), { testImages: [testDir, copyDir] })))
      expect(Either.isLeft(shared) && shared.left.message).toMatch(
        /the same photo is in the training folders \(.*a\.png\) and the test folders \(.*renamed\.png\)/
      )

      const blank = mkdtempSync(join(root, "blank-"))
      yield* Effect.promise(() => writePhotos(blank, [flat("white.png", 60, 60)]))
      const none = yield* Effect.either(build(options(join(root, "y.arrow"), { images: [blank] })))
      expect(Either.isLeft(none) && none.left.message).toMatch(
        /no crop of the 1 train\/validation photo\(s\) has a patch with std ≥ 0\.5/
      )
    })
  )
})
