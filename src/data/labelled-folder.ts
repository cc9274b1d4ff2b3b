/**
 * A labelled image folder: one subfolder per class, each holding that class's JPEG and PNG
 * images, read as grey pixel rows in [0, 1] (decoded as every image here is: readGrayPixels) with
 * one class label per row. Classes are numbered in the sorted order of their folder names.
 *   digits/
 *     cat/   0001.png 0002.png ...
 *     dog/   a.jpg b.jpg ...
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { readdir, stat } from "node:fs/promises"
import { join } from "node:path"
import { type ImageShape, readImagesOfOneSize } from "./image-rows.js"
import { type ImageReadError, listImages } from "./images.js"

/** A labelled folder that cannot be read as classes of images, naming the folder and the fix. */
export class LabelledFolderError extends Data.TaggedError("LabelledFolderError")<{
  /** The folder (the top one, or the class folder at fault). */
  readonly folder: string
  readonly problem: string
}> {
  override get message(): string {
    return `labelled image folder ${this.folder}: ${this.problem}`
  }
}

/** The images of a labelled folder as rows, with their labels and the class names they index. */
export interface LabelledImages {
  readonly x: Float32Array
  readonly rows: number
  readonly height: number
  readonly width: number
  /** labels[i] is the class of row i: an index into classes. */
  readonly labels: Uint8Array
  /** The class folders' names, sorted: class k is classes[k]. */
  readonly classes: ReadonlyArray<string>
  /** Each row's file, for messages and reports. */
  readonly paths: ReadonlyArray<string>
}

/** Labels are bytes, as MNIST's are: more classes than this do not fit. */
export const MAX_CLASSES = 256

const LAYOUT = "put each class's images in a subfolder of its own (FOLDER/CLASS/IMAGE.png)"

const classFolders = (dir: string): Effect.Effect<string[], LabelledFolderError> =>
  Effect.tryPromise({
    try: async () => {
      if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error("it is not a folder"), { code: "ENOTDIR" })
      const entries = await readdir(dir, { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory() && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort()
    },
    catch: (cause) => {
      const code = (cause as { code?: unknown } | null)?.code
      const why =
        code === "ENOENT"
          ? "it does not exist"
          : code === "ENOTDIR"
            ? "it is not a folder"
            : cause instanceof Error
              ? cause.message
              : String(cause)
      return new LabelledFolderError({
        folder: dir,
        problem: `${why}; pass a folder with one subfolder of images per class`
      })
    }
  })

/**
 * Every class folder's images, as rows of one size: each image resized to cover `size` and
 * centre-cropped when it is given; otherwise every image must have the first one's size.
 */
export const readLabelledFolder = (
  dir: string,
  size?: ImageShape
): Effect.Effect<LabelledImages, LabelledFolderError | ImageReadError> =>
  Effect.gen(function* () {
    const classes = yield* classFolders(dir)
    if (classes.length === 0)
      return yield* Effect.fail(
        new LabelledFolderError({ folder: dir, problem: `it has no class subfolders; ${LAYOUT}` })
      )
    if (classes.length < 2) {
      return yield* Effect.fail(
        new LabelledFolderError({
          folder: dir,
          problem: `it has one class subfolder (${classes[0]}), and classification needs two or more; ${LAYOUT}`
        })
      )
    }
    if (classes.length > MAX_CLASSES) {
      return yield* Effect.fail(
        new LabelledFolderError({
          folder: dir,
          problem: `it has ${classes.length} class subfolders, more than the ${MAX_CLASSES} a label can hold; merge classes or split the data set`
        })
      )
    }
    const perClass: string[][] = []
    for (const name of classes) {
      const folder = join(dir, name)
      const paths = yield* listImages(folder).pipe(
        Effect.catchTag(
          "ImageReadError",
          (e): Effect.Effect<never, LabelledFolderError | ImageReadError> =>
            e.problem.includes("holds no")
              ? Effect.fail(
                  new LabelledFolderError({
                    folder,
                    problem: `the class ${name} holds no JPEG or PNG images; add its images, or remove the empty folder`
                  })
                )
              : Effect.fail(e)
        )
      )
      perClass.push(paths)
    }
    const paths = perClass.flat()
    const labels = Uint8Array.from(perClass.flatMap((p, k) => p.map(() => k)))
    const { x, height, width } = yield* readImagesOfOneSize(
      paths,
      size,
      (image, first) =>
        new LabelledFolderError({
          folder: dir,
          problem: `${image.path} is ${image.width}×${image.height} but ${first.path} is ${first.width}×${first.height}; every image must have one size, or give a size (--size N) to resize them all to N×N`
        })
    )
    return { x, rows: paths.length, height, width, labels, classes, paths }
  })
