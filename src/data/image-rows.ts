/**
 * Image files as rows of grey pixels in [0, 1], for a model's input or a data set of one's own:
 * decoded with sharp, turned the way their EXIF orientation says, grey as the Rec. 601 luma of
 * sRGB (as src/data/images.ts makes the patch photos).
 */
import { Effect } from "effect"
import { stat } from "node:fs/promises"
import { ImageReadError, listImages } from "./images.js"

export interface ImageShape {
  readonly height: number
  readonly width: number
}

/** Grey pixels of one image, row-major. */
export interface GrayPixels extends ImageShape {
  readonly path: string
  readonly pixels: Float32Array
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
export const readGrayPixels = (path: string, size?: ImageShape): Effect.Effect<GrayPixels, ImageReadError> =>
  Effect.tryPromise({
    try: async () => {
      // Loaded on first use, so that importing the library does not load the native decoder.
      const { default: sharp } = await import("sharp")
      let image = sharp(path, { failOn: "error" }).autoOrient()
      if (size !== undefined) image = image.resize(size.width, size.height, { fit: "cover", position: "centre", kernel: "linear" })
      const { data, info } = await image.removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true })
      const { width, height, channels } = info
      const pixels = new Float32Array(width * height)
      for (let i = 0, p = 0; i < pixels.length; i++, p += channels) {
        pixels[i] = channels >= 3 ? (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255 : data[p] / 255
      }
      return { path, width, height, pixels }
    },
    catch: (cause) => failure(path, cause)
  })

/** Paths given as files or folders: a folder stands for its JPEG and PNG files, sorted by name. */
export const expandImagePaths = (paths: ReadonlyArray<string>): Effect.Effect<string[], ImageReadError> =>
  Effect.forEach(paths, (path) =>
    Effect.tryPromise({ try: () => stat(path), catch: (cause) => failure(path, cause) }).pipe(
      Effect.flatMap((info) => (info.isDirectory() ? listImages(path) : Effect.succeed([path])))
    )
  ).pipe(Effect.map((lists) => lists.flat()))

/** Images as one block of rows (images × height·width), each resized to `size` as readGrayPixels does. */
export const readImageRows = (paths: ReadonlyArray<string>, size: ImageShape): Effect.Effect<Float32Array, ImageReadError> =>
  Effect.gen(function* () {
    const dim = size.height * size.width
    const out = new Float32Array(paths.length * dim)
    for (const [i, path] of paths.entries()) out.set((yield* readGrayPixels(path, size)).pixels, i * dim)
    return out
  })
