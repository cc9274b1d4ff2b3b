/**
 * Natural photos in, grey pixels out: listing image folders, decoding JPEG/PNG with sharp, the
 * resize of the shorter side, and seeded random crops.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { readdir, stat } from "node:fs/promises"
import { extname, join } from "node:path"
import type { Rng } from "./random.js"

/** An image that cannot be decoded, or a folder that cannot serve as a source of images. */
export class ImageReadError extends Data.TaggedError("ImageReadError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `cannot read ${this.path}: ${this.problem}`
  }
}

const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png"]

/** A grey image, row-major, values in [0, 1]. */
export interface GrayImage {
  readonly path: string
  readonly width: number
  readonly height: number
  readonly pixels: Float32Array
}

const reason = (cause: unknown): string => {
  const code = (cause as { code?: unknown } | null)?.code
  if (code === "ENOENT") return "it does not exist"
  if (code === "ENOTDIR") return "it is not a folder"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  return cause instanceof Error ? cause.message : String(cause)
}

/** The JPEG and PNG files of a folder (not its subfolders), sorted by name so a listing is the same on every machine. */
export const listImages = (dir: string): Effect.Effect<string[], ImageReadError> =>
  Effect.tryPromise({
    try: async () => {
      if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" })
      const entries = await readdir(dir, { withFileTypes: true })
      return entries
        .filter((e) => (e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
        .map((e) => e.name)
        .sort()
        .map((name) => join(dir, name))
    },
    catch: (cause) =>
      new ImageReadError({ path: dir, problem: `${reason(cause)}; pass a folder of JPEG or PNG photos` })
  }).pipe(
    Effect.filterOrFail(
      (files) => files.length > 0,
      () =>
        new ImageReadError({
          path: dir,
          problem: `the folder holds no ${IMAGE_EXTENSIONS.join(", ")} files; pass a folder of photos`
        })
    )
  )

/**
 * Decodes a photo, turns it the way its EXIF orientation says, scales it so that its shorter
 * side is `shorterSide` (enlarging small photos too, as torchvision's Resize does) and makes it
 * grey. Bilinear resampling with anti-aliasing, as torchvision's Resize on PIL images, rather
 * than sharp's default Lanczos, whose overshoot adds ringing the paper's patches did not have.
 * Grey is the Rec. 601 luma of the sRGB values (PIL's "L" mode), kept in float instead of being
 * rounded to 8 bits.
 */
export const readGrayImage = (path: string, shorterSide = 256): Effect.Effect<GrayImage, ImageReadError> =>
  Effect.tryPromise({
    try: () => decodeGray(path, { width: shorterSide, height: shorterSide, fit: "outside" }),
    catch: (cause) =>
      new ImageReadError({
        path,
        problem: `${reason(cause)}; the file is not a readable JPEG or PNG (remove it from the folder or convert it)`
      })
  })

/**
 * A JPEG or PNG as grey pixels in [0, 1]: turned the way its EXIF orientation says, resized
 * bilinearly when `resize` is given ("outside": until it covers the box; "cover": the same, then
 * the centre cut out), grey as the Rec. 601 luma of its sRGB values, kept in float.
 */
export const decodeGray = async (
  path: string,
  resize?: { readonly width: number; readonly height: number; readonly fit: "outside" | "cover" }
): Promise<GrayImage> => {
  // Loaded on first use: a program that never decodes a photo does not load the native decoder.
  const { default: sharp } = await import("sharp")
  let image = sharp(path, { failOn: "error" }).autoOrient()
  if (resize !== undefined) image = image.resize(resize.width, resize.height, { fit: resize.fit, kernel: "linear" })
  const { data, info } = await image
    .removeAlpha()
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true })
  const { width, height, channels } = info
  const pixels = new Float32Array(width * height)
  if (channels >= 3) {
    for (let i = 0, p = 0; i < pixels.length; i++, p += channels)
      pixels[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255
  } else {
    for (let i = 0, p = 0; i < pixels.length; i++, p += channels) pixels[i] = data[p] / 255
  }
  return { path, width, height, pixels }
}

/** A uniformly random top-left corner of a size×size crop inside the image. */
export const randomCropPosition = (
  image: { readonly width: number; readonly height: number },
  size: number,
  rng: Rng
) => {
  if (image.width < size || image.height < size) {
    throw new RangeError(`crop: a ${size}×${size} crop does not fit in a ${image.width}×${image.height} image`)
  }
  return { top: rng.int(image.height - size + 1), left: rng.int(image.width - size + 1) }
}

/** A copy of the size×size crop at (top, left). */
export const cropPixels = (image: GrayImage, top: number, left: number, size: number): Float32Array => {
  const out = new Float32Array(size * size)
  for (let r = 0; r < size; r++)
    out.set(image.pixels.subarray((top + r) * image.width + left, (top + r) * image.width + left + size), r * size)
  return out
}
