/**
 * Image files as rows of grey pixels in [0, 1], for a model's input or a data set of one's own,
 * decoded as the patch photos are (decodeGray of src/data/images.ts).
 */
import * as Effect from "effect/Effect"
import { stat } from "node:fs/promises"
import { decodeGray, type GrayImage, ImageReadError, listImages } from "./images.js"

export interface ImageShape {
  readonly height: number
  readonly width: number
}

const failure = (path: string, cause: unknown) =>
  new ImageReadError({
    path,
    problem: `${(cause as { code?: unknown } | null)?.code === "ENOENT" ? "it does not exist" : cause instanceof Error ? cause.message : String(cause)}; pass a readable JPEG or PNG file`
  })

/**
 * One image as grey pixels. With `size`, it is scaled (bilinear, keeping its aspect ratio) until
 * it covers size.height × size.width and the centre is cut out, so a photo of any shape becomes
 * an input of that shape; without, it keeps its own size.
 */
export const readGrayPixels = (path: string, size?: ImageShape): Effect.Effect<GrayImage, ImageReadError> =>
  Effect.tryPromise({
    try: () => decodeGray(path, size === undefined ? undefined : { ...size, fit: "cover" }),
    catch: (cause) => failure(path, cause)
  })

/** Paths given as files or folders: a folder stands for its JPEG and PNG files, sorted by name. */
export const expandImagePaths = (paths: ReadonlyArray<string>): Effect.Effect<string[], ImageReadError> =>
  Effect.forEach(paths, (path) =>
    Effect.tryPromise({ try: () => stat(path), catch: (cause) => failure(path, cause) }).pipe(
      Effect.flatMap((info) => (info.isDirectory() ? listImages(path) : Effect.succeed([path])))
    )
  ).pipe(Effect.map((lists) => lists.flat()))

/**
 * Images as one block of rows of one size: each resized to cover `size` and centre-cropped when
 * it is given; otherwise every image must have the first one's size, and `mismatch` is the error
 * for one that has another.
 */
export const readImagesOfOneSize = <E>(
  paths: ReadonlyArray<string>,
  size: ImageShape | undefined,
  mismatch: (image: GrayImage, first: GrayImage) => E
): Effect.Effect<{ readonly x: Float32Array; readonly height: number; readonly width: number }, ImageReadError | E> =>
  Effect.gen(function* () {
    const first = yield* readGrayPixels(paths[0], size)
    const dim = first.height * first.width
    const x = new Float32Array(paths.length * dim)
    x.set(first.pixels, 0)
    for (let i = 1; i < paths.length; i++) {
      const image = yield* readGrayPixels(paths[i], size)
      if (image.height !== first.height || image.width !== first.width)
        return yield* Effect.fail(mismatch(image, first))
      x.set(image.pixels, i * dim)
    }
    return { x, height: first.height, width: first.width }
  })

/** Images as one block of rows (images × height·width), each resized to `size` as readGrayPixels does. */
export const readImageRows = (
  paths: ReadonlyArray<string>,
  size: ImageShape
): Effect.Effect<Float32Array, ImageReadError> =>
  Effect.gen(function* () {
    const dim = size.height * size.width
    const out = new Float32Array(paths.length * dim)
    for (const [i, path] of paths.entries()) out.set((yield* readGrayPixels(path, size)).pixels, i * dim)
    return out
  })
