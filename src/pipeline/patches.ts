/**
 * Natural-image patches (SPEC §6) as pipeline stages: photos → resized grey images → random
 * crops → LCN → std filter → rows with a split → an Arrow patch file; and the patch file back as
 * Datasets whose toPixels undoes the LCN with each row's stored μ and s.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Chunk, Data, Effect, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { dirname } from "node:path"
import { ensureDir } from "../data/atomic-write.js"
import { type GrayImage, ImageReadError, listImages, randomCropPosition, readGrayImage } from "../data/images.js"
import { openPatchWriter, type PatchFile, type PatchFileError, type PatchRows, type PatchSplit, readPatchFile, type SplitName } from "../data/patch-file.js"
import { makeRng, type Rng } from "../data/random.js"
import type { WriteError } from "../data/write-error.js"
import {
  CROP_SIZE,
  KERNEL_SIGMA,
  KERNEL_SIZE,
  keepPatch,
  type LcnPatch,
  lcnToPixels,
  makeLcn,
  PATCH_DIM,
  PATCH_OFFSET,
  PATCH_SIZE,
  PIXEL_MEAN,
  PIXEL_STD,
  SCALE_FLOOR,
  STD_THRESHOLD
} from "../models/lcn.js"
import type { Dataset, Splits } from "./dataset.js"
import { Progress } from "./progress.js"
import { derivedSeed } from "./seeds.js"

/** The data set cannot be built from what was given; `problem` says why and what to change. */
export class PatchBuildError extends Data.TaggedError("PatchBuildError")<{
  readonly problem: string
}> {
  override get message(): string {
    return `cannot build the patch data set: ${this.problem}`
  }
}

/** The loaded patch file cannot be trained on as it is. */
export class PatchDataError extends Data.TaggedError("PatchDataError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `patch file ${this.file}: ${this.problem}`
  }
}

/** Shorter side of every photo after resizing (SPEC §6). */
export const SHORTER_SIDE = 256

/** One kept patch and where it came from. */
export interface PatchRow extends LcnPatch {
  readonly source: string
  /** Corner of the 52×52 crop in the resized photo; the patch covers rows/columns +12..+39. */
  readonly top: number
  readonly left: number
}

export interface SplitRow extends PatchRow {
  readonly split: SplitName
}

/** Crops drawn and kept, per set of photos. */
export interface CropCounts {
  images: number
  crops: number
  kept: number
}

/** What a build does with a photo it cannot read or decode (`--bad-images`). */
export const badImagesPolicies = ["error", "skip"] as const
export type BadImagesPolicy = (typeof badImagesPolicies)[number]

/**
 * The level low local scales are raised to (`--scale-floor`): "data", one level for the whole
 * data set, the mean of s over a sample of training crops, as the authors' code does (it takes the
 * mean over each batch of 250 crops of different photos); "patch", each crop's own mean of s.
 */
export const scaleFloorModes = ["data", "patch"] as const
export type ScaleFloorMode = (typeof scaleFloorModes)[number]

/** Crops per calibration of the data-wide level: four batches' worth of the authors' 250. */
export const CALIBRATION_CROPS = 1000

/** A photo left out because it could not be read, and why. */
export interface SkippedImage {
  readonly path: string
  readonly problem: string
}

/**
 * The policy for unreadable photos as one function: with "error" it fails with the photo's
 * ImageReadError, now also naming the option that would skip it; with "skip" it notes the photo
 * (each once, whichever pass meets it) and succeeds, so the caller leaves the photo out.
 */
export interface UnreadablePhotos {
  readonly handle: (e: ImageReadError) => Effect.Effect<void, ImageReadError>
  readonly skipped: ReadonlyMap<string, string>
}

export const unreadablePhotos = (policy: BadImagesPolicy): UnreadablePhotos => {
  const skipped = new Map<string, string>()
  return {
    skipped,
    handle: (e) =>
      policy === "error"
        ? Effect.fail(new ImageReadError({ path: e.path, problem: `${e.problem}. To leave out every photo that cannot be read instead (they are counted in the log and the build report), pass --bad-images skip` }))
        : skipped.has(e.path)
          ? Effect.void
          : Effect.sync(() => skipped.set(e.path, e.problem)).pipe(Effect.zipRight(Effect.logWarning(`skipping ${e.path} (--bad-images skip): ${e.problem}`)))
  }
}

// ---------------------------------------------------------------------------------------------
// Stages

/**
 * Decoded, resized grey photos in the given order; the next photo decodes while one is cropped.
 * A photo that cannot be decoded fails the stream or, when the policy skips it, comes as None,
 * so that positions in the order stay those of the photos.
 */
export const imageStage = (paths: readonly string[], unreadable: UnreadablePhotos = unreadablePhotos("error"), shorterSide = SHORTER_SIDE): Stream.Stream<Option.Option<GrayImage>, ImageReadError> =>
  Stream.fromIterable(paths).pipe(
    Stream.mapEffect((path) => readGrayImage(path, shorterSide).pipe(Effect.map(Option.some), Effect.catchAll((e) => unreadable.handle(e).pipe(Effect.as(Option.none<GrayImage>())))), { concurrency: 2 })
  )

/**
 * Random crops of one photo through LCN and the std filter, until `quota` patches are kept or
 * `maxCrops` crops were tried (a nearly flat photo may never fill its quota). The photo is
 * decoded and resized once for all its crops; crops are windows into it, not copies. Rows come
 * in chunks of at most `chunk`, so memory does not grow with the quota and the fiber yields
 * (to progress reports, to Ctrl-C) between chunks.
 */
export const imagePatchesStage = (
  image: GrayImage,
  quota: number,
  maxCrops: number,
  rng: Rng,
  lcn: ReturnType<typeof makeLcn>,
  counts: CropCounts,
  chunk = 256
): Stream.Stream<PatchRow> =>
  Stream.suspend(() => {
    let kept = 0
    let tries = 0
    return Stream.repeatEffectChunkOption(
      Effect.suspend(() => {
        if (kept >= quota || tries >= maxCrops) return Effect.fail(Option.none())
        const rows: PatchRow[] = []
        while (rows.length < chunk && kept < quota && tries < maxCrops) {
          const { top, left } = randomCropPosition(image, CROP_SIZE, rng)
          const p = lcn({ pixels: image.pixels, width: image.width, top, left })
          tries += 1
          counts.crops += 1
          if (keepPatch(p)) {
            rows.push({ ...p, source: image.path, top, left })
            kept += 1
            counts.kept += 1
          }
        }
        return Effect.succeed(Chunk.unsafeFromArray(rows))
      })
    )
  })

/** How many crops a photo may use per patch of its quota before the rest is left to other photos. */
const CROPS_PER_PATCH = 20
const MAX_PASSES = 20

/**
 * Exactly `total` patches from a set of photos. Each photo is asked for an equal share of what
 * is still missing, so a photo that falls short (a flat sky) leaves its share to the next ones;
 * if a pass over all of them is not enough, another pass in a new order draws new crops.
 */
export const imageSetStage = (
  paths: readonly string[],
  total: number,
  rng: Rng,
  counts: CropCounts,
  describe: string,
  unreadable: UnreadablePhotos = unreadablePhotos("error"),
  scaleReference: number | null = null
): Stream.Stream<PatchRow, ImageReadError | PatchBuildError> =>
  Stream.suspend(() => {
    const lcn = makeLcn(scaleReference)
    let remaining = total
    const pass = (k: number): Stream.Stream<PatchRow, ImageReadError | PatchBuildError> => {
      if (remaining <= 0) return Stream.empty
      if (k >= MAX_PASSES) {
        return Stream.fail(new PatchBuildError({ problem: `${describe} gave only ${total - remaining} of ${total} patches with std ≥ ${STD_THRESHOLD} after ${k} passes; add photos, or ask for fewer patches` }))
      }
      const usable = paths.filter((p) => !unreadable.skipped.has(p))
      if (usable.length === 0) {
        return Stream.fail(new PatchBuildError({ problem: `none of ${describe} can be read (all were skipped, see the warnings above); use other photos` }))
      }
      const before = remaining
      const order = shuffled(usable, rng)
      // A skipped photo keeps its place in the order, so the quotas of the next ones share out what it leaves.
      return imageStage(order, unreadable).pipe(
        Stream.zipWithIndex,
        Stream.takeWhile(() => remaining > 0),
        Stream.flatMap(([image, i]) => {
          if (Option.isNone(image)) return Stream.empty
          const quota = Math.ceil(remaining / (order.length - i))
          return imagePatchesStage(image.value, quota, Math.max(quota * CROPS_PER_PATCH, 100), rng, lcn, counts).pipe(Stream.tap(() => Effect.sync(() => (remaining -= 1))))
        }),
        Stream.concat(
          Stream.suspend(() =>
            remaining > 0 && remaining === before
              ? Stream.fail(new PatchBuildError({ problem: `no crop of ${describe} has a patch with std ≥ ${STD_THRESHOLD} (are the photos blank?); use other photos` }))
              : pass(k + 1)
          )
        )
      )
    }
    counts.images = paths.length
    return pass(0)
  })

const shuffled = <A>(items: readonly A[], rng: Rng): A[] => rng.permutation(items.length).map((i) => items[i])

/**
 * The data-wide reference level of the local scale: the mean of s over `crops` random crops spread
 * evenly over the photos (at least one per photo), every crop counted whatever its contrast.
 */
export const scaleReferenceStage = (paths: readonly string[], crops: number, rng: Rng, unreadable: UnreadablePhotos = unreadablePhotos("error")) =>
  Effect.gen(function* () {
    const noPhoto = new PatchBuildError({ problem: "no readable photo to measure the local scale on; use other photos" })
    const usable = paths.filter((p) => !unreadable.skipped.has(p))
    if (usable.length === 0) return yield* Effect.fail(noPhoto)
    const perPhoto = Math.max(1, Math.ceil(crops / usable.length))
    const lcn = makeLcn()
    let sum = 0
    let count = 0
    yield* imageStage(usable, unreadable).pipe(
      Stream.runForEach((image) =>
        Effect.sync(() => {
          if (Option.isNone(image)) return
          for (let k = 0; k < perPhoto; k++) {
            const { top, left } = randomCropPosition(image.value, CROP_SIZE, rng)
            sum += lcn({ pixels: image.value.pixels, width: image.value.width, top, left }).scaleMean
            count += 1
          }
        })
      )
    )
    if (count === 0) return yield* Effect.fail(noPhoto)
    return { level: sum / count, crops: count }
  })

/**
 * Sends each row to train or validation so that exactly `train` and `val` rows go to each, in a
 * random interleaving: row by row, train with probability (train left)/(rows left).
 */
export const trainValStage =
  (train: number, val: number, rng: Rng) =>
  <E>(rows: Stream.Stream<PatchRow, E>): Stream.Stream<SplitRow, E> =>
    Stream.suspend(() => {
      let trainLeft = train
      let valLeft = val
      return rows.pipe(
        Stream.map((row): SplitRow => {
          const toTrain = rng.next() * (trainLeft + valLeft) < trainLeft
          if (toTrain) trainLeft -= 1
          else valLeft -= 1
          return { ...row, split: toTrain ? "train" : "val" }
        })
      )
    })

/** Rows as one columnar batch for the patch file. */
export const toPatchRows = (rows: Chunk.Chunk<SplitRow>): PatchRows => {
  const list = Chunk.toReadonlyArray(rows)
  const count = list.length
  const patch = new Float32Array(count * PATCH_DIM)
  const mean = new Float32Array(count * PATCH_DIM)
  const scale = new Float32Array(count * PATCH_DIM)
  list.forEach((r, i) => {
    patch.set(r.patch, i * PATCH_DIM)
    mean.set(r.mean, i * PATCH_DIM)
    scale.set(r.scale, i * PATCH_DIM)
  })
  return {
    count,
    patch,
    mean,
    scale,
    source: list.map((r) => r.source),
    top: Int32Array.from(list, (r) => r.top),
    left: Int32Array.from(list, (r) => r.left),
    split: list.map((r) => r.split)
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

export interface ValueStats {
  readonly mean: number
  readonly std: number
  readonly min: number
  readonly max: number
}

class RunningStats {
  count = 0
  sum = 0
  sumSq = 0
  min = Infinity
  max = -Infinity
  add(values: Float32Array): void {
    let sum = 0
    let sumSq = 0
    let min = this.min
    let max = this.max
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      sum += v
      sumSq += v * v
      if (v < min) min = v
      if (v > max) max = v
    }
    this.count += values.length
    this.sum += sum
    this.sumSq += sumSq
    this.min = min
    this.max = max
  }
  result(): ValueStats {
    const mean = this.sum / Math.max(this.count, 1)
    return { mean, std: Math.sqrt(Math.max(this.sumSq / Math.max(this.count, 1) - mean * mean, 0)), min: this.min, max: this.max }
  }
}

// ---------------------------------------------------------------------------------------------
// Which photos feed which split

export interface Sizes {
  readonly train: number
  readonly val: number
  readonly test: number
}

export interface ImageSets {
  readonly trainVal: readonly string[]
  readonly test: readonly string[]
  /** How the test photos were chosen, for the log and the file's metadata. */
  readonly testFrom: "folders" | "held out" | "none"
  readonly duplicatesDropped: number
}

const contentHash = (path: string) =>
  Effect.tryPromise({
    try: async () => createHash("sha256").update(await readFile(path)).digest("hex"),
    catch: (cause) => new ImageReadError({ path, problem: cause instanceof Error ? cause.message : String(cause) })
  })

const listFolders = (folders: readonly string[]) =>
  Effect.forEach(folders, listImages).pipe(Effect.map((lists) => lists.flat()))

/**
 * The photos that decode, each tried once at a small size before any is cropped: a photo that
 * cannot be decoded stops the build at once rather than hours into it, or (skip) is left out
 * before the photos are split, so the split is that of the readable photos alone.
 */
const decodable = (paths: readonly string[], unreadable: UnreadablePhotos) =>
  Effect.forEach(
    paths,
    (path) => readGrayImage(path, 32).pipe(Effect.as([path]), Effect.catchAll((e) => unreadable.handle(e).pipe(Effect.as([] as string[])))),
    { concurrency: 4 }
  ).pipe(Effect.map((kept) => kept.flat()))

/** Photos with identical bytes collapse to the first one, so a copied photo cannot count twice. A file that cannot be read goes to the unreadable-photo policy. */
const byContent = (paths: readonly string[], unreadable: UnreadablePhotos) =>
  Effect.forEach(
    paths,
    (path) =>
      contentHash(path).pipe(
        Effect.map((hash) => Option.some({ path, hash })),
        Effect.catchAll((e) => unreadable.handle(e).pipe(Effect.as(Option.none<{ path: string; hash: string }>())))
      ),
    { concurrency: 4 }
  ).pipe(
    Effect.map((found) => {
      const items = found.flatMap((o) => (Option.isSome(o) ? [o.value] : []))
      const seen = new Map<string, string>()
      for (const { path, hash } of items) if (!seen.has(hash)) seen.set(hash, path)
      return { unique: seen, dropped: items.length - seen.size }
    })
  )

/**
 * The photos for train/validation and those for test, such that no photo (by content, so a copy
 * under another name counts too) feeds both. Without test folders, a seeded share of the photos
 * proportional to the test size is held out whole.
 */
export const imageSets = (
  images: readonly string[],
  testImages: readonly string[],
  sizes: Sizes,
  rng: Rng,
  unreadable: UnreadablePhotos = unreadablePhotos("error")
): Effect.Effect<ImageSets, ImageReadError | PatchBuildError> =>
  Effect.gen(function* () {
    if (images.length === 0) return yield* Effect.fail(new PatchBuildError({ problem: "no photo folder given; pass --images DIR (several folders: repeat it or separate them with commas)" }))
    const noneReadable = (folders: readonly string[]) =>
      Effect.fail(new PatchBuildError({ problem: `none of the photos in ${folders.join(", ")} can be read (all were skipped, see the warnings above); use other photos` }))
    const trainVal = yield* byContent(yield* decodable(yield* listFolders(images), unreadable), unreadable)
    if (trainVal.unique.size === 0) return yield* noneReadable(images)
    if (testImages.length > 0) {
      const test = yield* byContent(yield* decodable(yield* listFolders(testImages), unreadable), unreadable)
      if (test.unique.size === 0) return yield* noneReadable(testImages)
      for (const [hash, path] of test.unique) {
        const other = trainVal.unique.get(hash)
        if (other !== undefined) {
          return yield* Effect.fail(new PatchBuildError({ problem: `the same photo is in the training folders (${other}) and the test folders (${path}); remove it from one, so that no photo feeds both train/validation and test` }))
        }
      }
      return { trainVal: [...trainVal.unique.values()], test: [...test.unique.values()], testFrom: "folders", duplicatesDropped: trainVal.dropped + test.dropped } satisfies ImageSets
    }
    const all = [...trainVal.unique.values()]
    if (sizes.test === 0) return { trainVal: all, test: [], testFrom: "none", duplicatesDropped: trainVal.dropped } satisfies ImageSets
    const held = Math.max(1, Math.round((all.length * sizes.test) / (sizes.train + sizes.val + sizes.test)))
    if (all.length - held < 1) {
      return yield* Effect.fail(new PatchBuildError({ problem: `${all.length} photo(s) cannot be split into train/validation and test photos; pass --test-images DIR, add photos, or pass --test 0` }))
    }
    const order = shuffled(all, rng)
    // Sorted back so the listing in the log and metadata is stable and easy to scan.
    return { trainVal: order.slice(held).sort(), test: order.slice(0, held).sort(), testFrom: "held out", duplicatesDropped: trainVal.dropped } satisfies ImageSets
  })

// ---------------------------------------------------------------------------------------------
// The builder

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
  readonly scaleFloor: { readonly mode: "data"; readonly level: number; readonly crops: number } | { readonly mode: "patch" }
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
export const buildPatchFile = (o: BuildOptions): Effect.Effect<BuildReport, ImageReadError | PatchBuildError | WriteError, Progress> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { sizes } = o
      for (const [name, n] of Object.entries(sizes)) {
        if (!Number.isSafeInteger(n) || n < 0) return yield* Effect.fail(new PatchBuildError({ problem: `--${name} must be a whole number ≥ 0, got ${n}` }))
      }
      if (sizes.train + sizes.val + sizes.test === 0) return yield* Effect.fail(new PatchBuildError({ problem: "--train, --val and --test are all 0; ask for some patches" }))
      const rngs = buildRngs(o.seed)
      const unreadable = unreadablePhotos(o.badImages ?? "error")
      const sets = yield* imageSets(o.images, o.testImages, sizes, rngs.heldOut, unreadable)
      yield* Effect.logInfo(
        `photos: ${sets.trainVal.length} for train/validation, ${sets.test.length} for test (${sets.testFrom === "held out" ? "held out from --images" : sets.testFrom === "folders" ? "from --test-images" : "none"})` +
          (sets.duplicatesDropped > 0 ? `; ${sets.duplicatesDropped} duplicate photo(s) ignored` : "")
      )
      const total = sizes.train + sizes.val + sizes.test
      // Measured on the training photos (the test photos when only test patches are asked for) and used for every split.
      const fromTraining = sets.trainVal.length > 0 && sizes.train + sizes.val > 0
      const scaleFloor: BuildReport["scaleFloor"] =
        (o.scaleFloor ?? "data") === "patch"
          ? { mode: "patch" }
          : { mode: "data", ...(yield* scaleReferenceStage(fromTraining ? sets.trainVal : sets.test, CALIBRATION_CROPS, rngs.calibration, unreadable)) }
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
          shorterSide: SHORTER_SIDE, crop: CROP_SIZE, grey: "Rec. 601 luma", pixelMean: PIXEL_MEAN, pixelStd: PIXEL_STD,
          kernel: KERNEL_SIZE, sigma: KERNEL_SIGMA, scaleMinimum: SCALE_FLOOR, scaleFloor, stdThreshold: STD_THRESHOLD, patch: PATCH_SIZE, patchOffset: PATCH_OFFSET
        }),
        columns: "patch = LCN patch; mean = local mean μ, scale = local scale s (28×28 each, aligned with the patch); pixels = (patch·s + μ)·0.259 + 0.457; top/left = corner of the 52×52 crop in the photo resized to shorter side 256, the patch covering +12..+39"
      }
      const trainValCounts: CropCounts = { images: 0, crops: 0, kept: 0 }
      const testCounts: CropCounts = { images: 0, crops: 0, kept: 0 }
      const trainValRows = sizes.train + sizes.val
      if (trainValRows > 0 && sets.trainVal.length === 0) return yield* Effect.fail(new PatchBuildError({ problem: "no photos for train/validation; pass --images DIR" }))
      const rows = Stream.concat(
        trainValRows === 0
          ? Stream.empty
          : imageSetStage(sets.trainVal, trainValRows, rngs.trainValCrops, trainValCounts, `the ${sets.trainVal.length} train/validation photo(s)`, unreadable, scaleReference).pipe(trainValStage(sizes.train, sizes.val, rngs.assign)),
        sizes.test === 0
          ? Stream.empty
          : imageSetStage(sets.test, sizes.test, rngs.testCrops, testCounts, `the ${sets.test.length} test photo(s)`, unreadable, scaleReference).pipe(Stream.map((row): SplitRow => ({ ...row, split: "test" })))
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
          return writer.append(batch).pipe(Effect.zipRight(bar.update(written, `${(written / seconds).toFixed(0)} rows/s, kept ${percent(kept / Math.max(crops, 1))} of crops`)))
        })
      )
      yield* writer.commit
      const seconds = (performance.now() - started) / 1000
      const crops = trainValCounts.crops + testCounts.crops
      const report: BuildReport = {
        out: o.out,
        rows: sizes,
        images: { trainVal: sets.trainVal.length, test: sets.test.length, testFrom: sets.testFrom, skipped: [...unreadable.skipped].map(([path, problem]) => ({ path, problem })) },
        crops: { trainVal: trainValCounts, test: testCounts },
        keptFraction: (trainValCounts.kept + testCounts.kept) / Math.max(crops, 1),
        scaleFloor,
        seconds,
        rowsPerSecond: written / seconds,
        statistics: { patch: stats.patch.result(), mean: stats.mean.result(), scale: stats.scale.result() }
      }
      const fmt = (s: ValueStats) => `mean ${s.mean.toFixed(4)} std ${s.std.toFixed(4)} min ${s.min.toFixed(4)} max ${s.max.toFixed(4)}`
      yield* Effect.logInfo(
        `wrote ${o.out}: ${sizes.train} train / ${sizes.val} val / ${sizes.test} test patches in ${seconds.toFixed(1)} s (${report.rowsPerSecond.toFixed(0)} rows/s); ` +
          `kept ${percent(report.keptFraction)} of ${crops} crops (train/val photos ${percent(trainValCounts.kept / Math.max(trainValCounts.crops, 1))}, test photos ${percent(testCounts.kept / Math.max(testCounts.crops, 1))})`
      )
      yield* Effect.logInfo(`patch: ${fmt(report.statistics.patch)} | μ: ${fmt(report.statistics.mean)} | s: ${fmt(report.statistics.scale)}`)
      if (unreadable.skipped.size > 0) {
        yield* Effect.logWarning(`skipped ${unreadable.skipped.size} photo(s) that cannot be read (--bad-images skip): ${[...unreadable.skipped.keys()].join(", ")}`)
      }
      return report
    })
  )

// ---------------------------------------------------------------------------------------------
// Patch files as data sets

/**
 * One split as a Dataset. Its toPixels undoes the LCN with the μ and s of the rows it is given
 * (gathered on the host per batch, so the maps never have to fit in the backend's memory).
 */
export const patchDataset = (name: string, split: PatchSplit, size: number): Dataset => {
  const dim = size * size
  const gather = (source: Float32Array, indices: Int32Array) => {
    const out = new Float32Array(indices.length * dim)
    for (let i = 0; i < indices.length; i++) out.set(source.subarray(indices[i] * dim, (indices[i] + 1) * dim), i * dim)
    return out
  }
  return {
    name,
    x: split.patch,
    rows: split.rows,
    dim,
    height: size,
    width: size,
    labels: null,
    toPixels: (x, indices) => {
      if (x.shape[0] !== indices.length) throw new RangeError(`toPixels: ${x.shape[0]} rows but ${indices.length} indices`)
      return tf.tidy(() => lcnToPixels(x, tf.tensor2d(gather(split.mean, indices), [indices.length, dim]), tf.tensor2d(gather(split.scale, indices), [indices.length, dim])))
    }
  }
}

/** The first `rows` rows of a split (all of them when rows is undefined or larger). */
export const firstRows = (split: PatchSplit, rows: number | undefined, dim: number): PatchSplit => {
  if (rows === undefined || rows >= split.rows) return split
  return {
    rows,
    patch: split.patch.subarray(0, rows * dim),
    mean: split.mean.subarray(0, rows * dim),
    scale: split.scale.subarray(0, rows * dim),
    source: split.source.slice(0, rows),
    top: split.top.subarray(0, rows),
    left: split.left.subarray(0, rows)
  }
}

/** A patch file's three splits as Datasets, each required to hold rows. */
export const patchSplits = (file: PatchFile, trainSize?: number): Effect.Effect<Splits<Dataset>, PatchDataError> =>
  Effect.gen(function* () {
    for (const name of ["train", "val", "test"] as const) {
      if (file.splits[name].rows === 0) {
        return yield* Effect.fail(new PatchDataError({ file: file.path, problem: `it has no ${name} rows; rebuild it with --${name} greater than 0` }))
      }
    }
    const train = firstRows(file.splits.train, trainSize, file.dim)
    return {
      train: patchDataset("train", train, file.size),
      val: patchDataset("val", file.splits.val, file.size),
      test: patchDataset("test", file.splits.test, file.size)
    }
  })

export const loadPatchSplits = (path: string, trainSize?: number): Effect.Effect<{ file: PatchFile; splits: Splits<Dataset> }, PatchFileError | PatchDataError> =>
  readPatchFile(path).pipe(Effect.flatMap((file) => patchSplits(file, trainSize).pipe(Effect.map((splits) => ({ file, splits })))))
