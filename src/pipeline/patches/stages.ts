/**
 * Natural-image patches (docs/method.md, Data) as pipeline stages: photos → resized grey images → random
 * crops → LCN → std filter → rows with a split → columnar batches for the patch file.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import { type GrayImage, type ImageReadError, randomCropPosition, readGrayImage } from "../../data/images.js"
import type { PatchRows, SplitName } from "../../data/patch-file.js"
import { type Rng, shuffled } from "../../data/random.js"
import { CROP_SIZE, keepPatch, type LcnPatch, makeLcn, PATCH_DIM, STD_THRESHOLD } from "../../models/lcn.js"
import { PatchBuildError } from "./errors.js"
import { type UnreadablePhotos, unreadablePhotos } from "./unreadable-photos.js"

/** Shorter side of every photo after resizing. */
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

/**
 * Decoded, resized grey photos in the given order; the next photo decodes while one is cropped.
 * A photo that cannot be decoded fails the stream or, when the policy skips it, comes as None,
 * so that positions in the order stay those of the photos.
 */
export const imageStage = (
  paths: readonly string[],
  unreadable: UnreadablePhotos = unreadablePhotos("error"),
  shorterSide = SHORTER_SIDE
): Stream.Stream<Option.Option<GrayImage>, ImageReadError> =>
  Stream.fromIterable(paths).pipe(
    Stream.mapEffect(
      (path) =>
        readGrayImage(path, shorterSide).pipe(
          Effect.map(Option.some),
          Effect.catchAll((e) => unreadable.handle(e).pipe(Effect.as(Option.none<GrayImage>())))
        ),
      { concurrency: 2 }
    )
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
        return Stream.fail(
          new PatchBuildError({
            problem: `${describe} gave only ${total - remaining} of ${total} patches with std ≥ ${STD_THRESHOLD} after ${k} passes; add photos, or ask for fewer patches`
          })
        )
      }
      const usable = paths.filter((p) => !unreadable.skipped.has(p))
      if (usable.length === 0) {
        return Stream.fail(
          new PatchBuildError({
            problem: `none of ${describe} can be read (all were skipped, see the warnings above); use other photos`
          })
        )
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
          return imagePatchesStage(image.value, quota, Math.max(quota * CROPS_PER_PATCH, 100), rng, lcn, counts).pipe(
            Stream.tap(() => Effect.sync(() => (remaining -= 1)))
          )
        }),
        Stream.concat(
          Stream.suspend(() =>
            remaining > 0 && remaining === before
              ? Stream.fail(
                  new PatchBuildError({
                    problem: `no crop of ${describe} has a patch with std ≥ ${STD_THRESHOLD} (are the photos blank?); use other photos`
                  })
                )
              : pass(k + 1)
          )
        )
      )
    }
    counts.images = paths.length
    return pass(0)
  })

/**
 * The data-wide reference level of the local scale: the mean of s over `crops` random crops spread
 * evenly over the photos (at least one per photo), every crop counted whatever its contrast.
 */
export const scaleReferenceStage = (
  paths: readonly string[],
  crops: number,
  rng: Rng,
  unreadable: UnreadablePhotos = unreadablePhotos("error")
) =>
  Effect.gen(function* () {
    const noPhoto = new PatchBuildError({
      problem: "no readable photo to measure the local scale on; use other photos"
    })
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
