/**
 * The patch file builder: photos split into train/validation and test photos, cropped through
 * the stages, written batch by batch to an Arrow patch file, with a report of what was kept.
 */
import { Effect, Stream } from "effect"
import { dirname } from "node:path"
import { ensureDir } from "../../data/atomic-write.js"
import type { ImageReadError } from "../../data/images.js"
import { openPatchWriter } from "../../data/patch-file.js"
import { makeRng } from "../../data/random.js"
import type { WriteError } from "../../data/write-error.js"
import {
  CROP_SIZE,
  KERNEL_SIGMA,
  KERNEL_SIZE,
  PATCH_DIM,
  PATCH_OFFSET,
  PATCH_SIZE,
  PIXEL_MEAN,
  PIXEL_STD,
  SCALE_FLOOR,
  STD_THRESHOLD
} from "../../models/lcn.js"
import { Progress } from "../train/progress.js"
import { derivedSeed } from "../train/seeds.js"
import { PatchBuildError } from "./errors.js"
import { imageSets, type ImageSets, type Sizes } from "./image-sets.js"
import {
  type CropCounts,
  imageSetStage,
  scaleReferenceStage,
  SHORTER_SIDE,
  type SplitRow,
  toPatchRows,
  trainValStage
} from "./stages.js"
import { type BadImagesPolicy, type SkippedImage, unreadablePhotos } from "./unreadable-photos.js"
import { RunningStats, type ValueStats } from "./value-stats.js"

/**
 * The level low local scales are raised to (`--scale-floor`): "data", one level for the whole
 * data set, the mean of s over a sample of training crops, as the authors' code does (it takes the
 * mean over each batch of 250 crops of different photos); "patch", each crop's own mean of s.
 */
export { scaleFloorModes, type ScaleFloorMode } from "../choices.js"
import type { ScaleFloorMode } from "../choices.js"

/** Crops per calibration of the data-wide level: four batches' worth of the authors' 250. */
const CALIBRATION_CROPS = 1000

export interface BuildOptions {
  /** Folders of photos for train and validation. */
  readonly images: readonly string[]
  /** Folders of photos for test; empty to hold out photos from `images`. */
  readonly testImages: readonly string[]
  readonly out: string
  readonly sizes: Sizes
  readonly seed: number
  /** Rows per Arrow record batch. */
  readonly batchRows?: number
  /** A photo that cannot be read or decoded: stop with an error naming it (the default), or leave it out and count it. */
  readonly badImages?: BadImagesPolicy
  /** The level low local scales are raised to; default "data". */
  readonly scaleFloor?: ScaleFloorMode
}

export interface BuildReport {
  readonly out: string
  readonly rows: Sizes
  readonly images: {
    readonly trainVal: number
    readonly test: number
    readonly testFrom: ImageSets["testFrom"]
    /** Photos left out because they could not be read (only with `badImages: "skip"`). */
    readonly skipped: readonly SkippedImage[]
  }
  readonly crops: { readonly trainVal: CropCounts; readonly test: CropCounts }
  /** Kept patches over crops tried, all photos together. */
  readonly keptFraction: number
  /** How low local scales were raised: to one data-wide level (with the crops that measured it) or to each crop's own mean. */
  readonly scaleFloor:
    | { readonly mode: "data"; readonly level: number; readonly crops: number }
    | { readonly mode: "patch" }
  readonly seconds: number
  readonly rowsPerSecond: number
  readonly statistics: { readonly patch: ValueStats; readonly mean: ValueStats; readonly scale: ValueStats }
}

/** Independent random streams for the uses of one build seed. */
const buildRngs = (seed: number) => {
  const base = derivedSeed(seed, "split")
  const sub = (k: number) => makeRng(Math.imul(base ^ (k * 0x9e3779b9), 0x85ebca6b) ^ k)
  return { heldOut: sub(1), trainValCrops: sub(2), testCrops: sub(3), assign: sub(4), calibration: sub(5) }
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`

/**
 * Builds the patch file: photos are streamed one at a time, rows are written batch by batch to a
 * temp file renamed into place at the end, so memory stays small and an interrupted build leaves
 * no file at `out`. Train and validation rows come first (interleaved), then test rows.
 */
export const buildPatchFile = (
  o: BuildOptions
): Effect.Effect<BuildReport, ImageReadError | PatchBuildError | WriteError, Progress> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { sizes } = o
      for (const [name, n] of Object.entries(sizes)) {
        if (!Number.isSafeInteger(n) || n < 0)
          return yield* Effect.fail(new PatchBuildError({ problem: `--${name} must be a whole number ≥ 0, got ${n}` }))
      }
      if (sizes.train + sizes.val + sizes.test === 0)
        return yield* Effect.fail(
          new PatchBuildError({ problem: "--train, --val and --test are all 0; ask for some patches" })
        )
      const rngs = buildRngs(o.seed)
      const unreadable = unreadablePhotos(o.badImages ?? "error")
      const sets = yield* imageSets(o.images, o.testImages, sizes, rngs.heldOut, unreadable)
      yield* Effect.logInfo(
        `photos: ${sets.trainVal.length} for train/validation, ${sets.test.length} for test (${sets.testFrom === "held out" ? "held out from the photos" : sets.testFrom === "folders" ? "from the test folders" : "none"})` +
          (sets.duplicatesDropped > 0 ? `; ${sets.duplicatesDropped} duplicate photo(s) ignored` : "")
      )
      const total = sizes.train + sizes.val + sizes.test
      // Measured on the training photos (the test photos when only test patches are asked for) and used for every split.
      const fromTraining = sets.trainVal.length > 0 && sizes.train + sizes.val > 0
      const scaleFloor: BuildReport["scaleFloor"] =
        (o.scaleFloor ?? "data") === "patch"
          ? { mode: "patch" }
          : {
              mode: "data",
              ...(yield* scaleReferenceStage(
                fromTraining ? sets.trainVal : sets.test,
                CALIBRATION_CROPS,
                rngs.calibration,
                unreadable
              ))
            }
      const scaleReference = scaleFloor.mode === "data" ? scaleFloor.level : null
      yield* Effect.logInfo(
        scaleFloor.mode === "data"
          ? `local scale: s below ${scaleFloor.level.toFixed(4)}, its mean over ${scaleFloor.crops} crops of the ${fromTraining ? "train/validation" : "test"} photos, is raised to it (--scale-floor data)`
          : "local scale: s below each crop's own mean of s is raised to that mean (--scale-floor patch)"
      )
      const metadata: Record<string, string> = {
        format: "sparse-vdl patches 1",
        "rows.train": String(sizes.train),
        "rows.val": String(sizes.val),
        "rows.test": String(sizes.test),
        seed: String(o.seed),
        "images.trainval": JSON.stringify(o.images),
        "images.test": JSON.stringify(o.testImages),
        "test.photos": sets.testFrom,
        preprocessing: JSON.stringify({
          shorterSide: SHORTER_SIDE,
          crop: CROP_SIZE,
          grey: "Rec. 601 luma",
          pixelMean: PIXEL_MEAN,
          pixelStd: PIXEL_STD,
          kernel: KERNEL_SIZE,
          sigma: KERNEL_SIGMA,
          scaleMinimum: SCALE_FLOOR,
          scaleFloor,
          stdThreshold: STD_THRESHOLD,
          patch: PATCH_SIZE,
          patchOffset: PATCH_OFFSET
        }),
        columns:
          "patch = LCN patch; mean = local mean μ, scale = local scale s (28×28 each, aligned with the patch); pixels = (patch·s + μ)·0.259 + 0.457; top/left = corner of the 52×52 crop in the photo resized to shorter side 256, the patch covering +12..+39"
      }
      const trainValCounts: CropCounts = { images: 0, crops: 0, kept: 0 }
      const testCounts: CropCounts = { images: 0, crops: 0, kept: 0 }
      const trainValRows = sizes.train + sizes.val
      if (trainValRows > 0 && sets.trainVal.length === 0)
        return yield* Effect.fail(new PatchBuildError({ problem: "no photos for train/validation; pass --images DIR" }))
      const rows = Stream.concat(
        trainValRows === 0
          ? Stream.empty
          : imageSetStage(
              sets.trainVal,
              trainValRows,
              rngs.trainValCrops,
              trainValCounts,
              `the ${sets.trainVal.length} train/validation photo(s)`,
              unreadable,
              scaleReference
            ).pipe(trainValStage(sizes.train, sizes.val, rngs.assign)),
        sizes.test === 0
          ? Stream.empty
          : imageSetStage(
              sets.test,
              sizes.test,
              rngs.testCrops,
              testCounts,
              `the ${sets.test.length} test photo(s)`,
              unreadable,
              scaleReference
            ).pipe(Stream.map((row): SplitRow => ({ ...row, split: "test" })))
      )
      const stats = { patch: new RunningStats(), mean: new RunningStats(), scale: new RunningStats() }
      yield* ensureDir(dirname(o.out))
      const writer = yield* openPatchWriter(o.out, PATCH_DIM, metadata)
      const bar = yield* (yield* Progress).bar("patches", total)
      const started = performance.now()
      let written = 0
      yield* rows.pipe(
        Stream.grouped(o.batchRows ?? 2048),
        Stream.runForEach((chunk) => {
          const batch = toPatchRows(chunk)
          stats.patch.add(batch.patch)
          stats.mean.add(batch.mean)
          stats.scale.add(batch.scale)
          written += batch.count
          const crops = trainValCounts.crops + testCounts.crops
          const kept = trainValCounts.kept + testCounts.kept
          const seconds = (performance.now() - started) / 1000
          return writer
            .append(batch)
            .pipe(
              Effect.zipRight(
                bar.update(
                  written,
                  `${(written / seconds).toFixed(0)} rows/s, kept ${percent(kept / Math.max(crops, 1))} of crops`
                )
              )
            )
        })
      )
      yield* writer.commit
      const seconds = (performance.now() - started) / 1000
      const crops = trainValCounts.crops + testCounts.crops
      const report: BuildReport = {
        out: o.out,
        rows: sizes,
        images: {
          trainVal: sets.trainVal.length,
          test: sets.test.length,
          testFrom: sets.testFrom,
          skipped: [...unreadable.skipped].map(([path, problem]) => ({ path, problem }))
        },
        crops: { trainVal: trainValCounts, test: testCounts },
        keptFraction: (trainValCounts.kept + testCounts.kept) / Math.max(crops, 1),
        scaleFloor,
        seconds,
        rowsPerSecond: written / seconds,
        statistics: { patch: stats.patch.result(), mean: stats.mean.result(), scale: stats.scale.result() }
      }
      const fmt = (s: ValueStats) =>
        `mean ${s.mean.toFixed(4)} std ${s.std.toFixed(4)} min ${s.min.toFixed(4)} max ${s.max.toFixed(4)}`
      yield* Effect.logInfo(
        `wrote ${o.out}: ${sizes.train} train / ${sizes.val} val / ${sizes.test} test patches in ${seconds.toFixed(1)} s (${report.rowsPerSecond.toFixed(0)} rows/s); ` +
          `kept ${percent(report.keptFraction)} of ${crops} crops (train/val photos ${percent(trainValCounts.kept / Math.max(trainValCounts.crops, 1))}, test photos ${percent(testCounts.kept / Math.max(testCounts.crops, 1))})`
      )
      yield* Effect.logInfo(
        `patch: ${fmt(report.statistics.patch)} | μ: ${fmt(report.statistics.mean)} | s: ${fmt(report.statistics.scale)}`
      )
      if (unreadable.skipped.size > 0) {
        yield* Effect.logWarning(
          `skipped ${unreadable.skipped.size} photo(s) that cannot be read (--bad-images skip): ${[...unreadable.skipped.keys()].join(", ")}`
        )
      }
      return report
    })
  )
