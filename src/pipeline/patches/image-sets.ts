/** Which photos feed which split: train/validation photos and test photos, never the same photo in both. */
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { ImageReadError, listImages, readGrayImage } from "../../data/images.js"
import { type Rng, shuffled } from "../../data/random.js"
import { PatchBuildError } from "./errors.js"
import { type UnreadablePhotos, unreadablePhotos } from "./unreadable-photos.js"

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
    try: async () =>
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex"),
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
    (path) =>
      readGrayImage(path, 32).pipe(
        Effect.as([path]),
        Effect.catchAll((e) => unreadable.handle(e).pipe(Effect.as([] as string[])))
      ),
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
    if (images.length === 0)
      return yield* Effect.fail(
        new PatchBuildError({
          problem: "no photo folder given; pass --images DIR (several folders: repeat it or separate them with commas)"
        })
      )
    const noneReadable = (folders: readonly string[]) =>
      Effect.fail(
        new PatchBuildError({
          problem: `none of the photos in ${folders.join(", ")} can be read (all were skipped, see the warnings above); use other photos`
        })
      )
    const trainVal = yield* byContent(yield* decodable(yield* listFolders(images), unreadable), unreadable)
    if (trainVal.unique.size === 0) return yield* noneReadable(images)
    if (testImages.length > 0) {
      const test = yield* byContent(yield* decodable(yield* listFolders(testImages), unreadable), unreadable)
      if (test.unique.size === 0) return yield* noneReadable(testImages)
      for (const [hash, path] of test.unique) {
        const other = trainVal.unique.get(hash)
        if (other !== undefined) {
          return yield* Effect.fail(
            new PatchBuildError({
              problem: `the same photo is in the training folders (${other}) and the test folders (${path}); remove it from one, so that no photo feeds both train/validation and test`
            })
          )
        }
      }
      return {
        trainVal: [...trainVal.unique.values()],
        test: [...test.unique.values()],
        testFrom: "folders",
        duplicatesDropped: trainVal.dropped + test.dropped
      } satisfies ImageSets
    }
    const all = [...trainVal.unique.values()]
    if (sizes.test === 0)
      return { trainVal: all, test: [], testFrom: "none", duplicatesDropped: trainVal.dropped } satisfies ImageSets
    const held = Math.max(1, Math.round((all.length * sizes.test) / (sizes.train + sizes.val + sizes.test)))
    if (all.length - held < 1) {
      return yield* Effect.fail(
        new PatchBuildError({
          problem: `${all.length} photo(s) cannot be split into train/validation and test photos; give test folders (testImages), add photos, or set test to 0`,
          fields: ["testImages", "test"]
        })
      )
    }
    const order = shuffled(all, rng)
    // Sorted back so the listing in the log and metadata is stable and easy to scan.
    return {
      trainVal: order.slice(held).sort(),
      test: order.slice(0, held).sort(),
      testFrom: "held out",
      duplicatesDropped: trainVal.dropped
    } satisfies ImageSets
  })
