/** MNIST from a folder of IDX files (raw or .gz), with the authors' validation split when the folder has one. */
import { FileSystem } from "@effect/platform"
import { Effect, Either } from "effect"
import * as nodePath from "node:path"
import { DataSourceError, IdxFormatError } from "../errors.js"
import { type IdxArray, readIdxFile } from "../idx.js"
import { MNIST_COLS, MNIST_ROWS, type MnistData, type MnistSplit } from "./data.js"

const IDX_NAMES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte"
} as const

const VALIDATION_INDICES_FILE = "validation-indices.txt"

const MISSING_FIX =
  `Pass --mnist-dir a folder holding the four MNIST IDX files (${Object.values(IDX_NAMES).join(", ")}, ` +
  `each optionally gzipped as .gz), or omit --mnist-dir to use the embedded 10,000-digit set.`

/**
 * Names a file may have: gzipped first so that a folder holding both reads the form the
 * downloader verified; the dotted spelling (train-images.idx3-ubyte) is how some
 * re-distributions name them.
 */
const candidateNames = (base: string): string[] => {
  const dotted = base.replace(/-(idx\d-ubyte)$/, ".$1")
  return [`${base}.gz`, base, `${dotted}.gz`, dotted]
}

const findIdxFile = (fs: FileSystem.FileSystem, dir: string, base: string) =>
  Effect.gen(function* () {
    const names = candidateNames(base)
    for (const name of names) {
      const path = nodePath.join(dir, name)
      const found = yield* fs
        .exists(path)
        .pipe(
          Effect.mapError(
            (e) => new DataSourceError({ source: `folder ${dir}`, problem: `cannot check for ${path}: ${e.message}` })
          )
        )
      if (found) return path
    }
    return yield* Effect.fail(
      new DataSourceError({
        source: `folder ${dir}`,
        problem: `${base} is missing from ${dir} (looked for ${names.join(", ")}). ${MISSING_FIX}`
      })
    )
  })

const readSplit = (fs: FileSystem.FileSystem, dir: string, imagesBase: string, labelsBase: string) =>
  Effect.gen(function* () {
    const imagesPath = yield* findIdxFile(fs, dir, imagesBase)
    const labelsPath = yield* findIdxFile(fs, dir, labelsBase)
    const images = yield* readIdxFile(imagesPath)
    const labels = yield* readIdxFile(labelsPath)
    yield* expectKind(images, "images", imagesPath)
    yield* expectKind(labels, "labels", labelsPath)

    const [count, rows, cols] = images.dims
    if (rows !== MNIST_ROWS || cols !== MNIST_COLS)
      return yield* Effect.fail(
        new IdxFormatError({
          file: imagesPath,
          problem: `images are ${rows}×${cols} but MNIST images are ${MNIST_ROWS}×${MNIST_COLS}; this is not MNIST`
        })
      )
    if (labels.dims[0] !== count)
      return yield* Effect.fail(
        new DataSourceError({
          source: `folder ${dir}`,
          problem:
            `${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.dims[0]} labels; ` +
            `the two files do not belong together, download them again`
        })
      )
    const bad = labels.data.findIndex((l) => l > 9)
    if (bad >= 0)
      return yield* Effect.fail(
        new IdxFormatError({
          file: labelsPath,
          problem: `label ${bad} is ${labels.data[bad]}, but MNIST labels are digits 0..9; the file is corrupt`
        })
      )
    return { images: images.data, labels: labels.data, count } satisfies MnistSplit
  })

const expectKind = (idx: IdxArray, kind: IdxArray["kind"], path: string) =>
  idx.kind === kind
    ? Effect.void
    : Effect.fail(
        new IdxFormatError({
          file: path,
          problem: `this is an IDX ${idx.kind} file but its name says ${kind}; the files may have been renamed or swapped`
        })
      )

/**
 * Parses validation-indices.txt: one 0-based index into the training set per line (blank lines
 * and #-comments ignored). Indices must be in range and distinct, or the split would silently
 * differ from the authors'.
 */
export const parseValidationIndices = (
  text: string,
  file: string,
  trainCount: number
): Either.Either<number[], DataSourceError> => {
  const fail = (problem: string) =>
    Either.left(new DataSourceError({ source: file, problem: `${problem}; fix or delete ${file}` }))
  const seen = new Uint8Array(trainCount)
  const indices: number[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === "" || line.startsWith("#")) continue
    if (!/^\d+$/.test(line)) return fail(`line ${i + 1} is "${line}", not a non-negative integer index`)
    const index = Number(line)
    if (index >= trainCount)
      return fail(
        `line ${i + 1}: index ${index} is out of range, the training set has ${trainCount} images (0..${trainCount - 1})`
      )
    if (seen[index]) return fail(`line ${i + 1}: index ${index} appears more than once`)
    seen[index] = 1
    indices.push(index)
  }
  if (indices.length === 0) return fail("the file lists no indices")
  return Either.right(indices)
}

/**
 * Reads MNIST from a folder of IDX files (raw or .gz), plus the authors' validation split from
 * validation-indices.txt when the folder has one.
 */
export const loadMnistDir = (
  dir: string
): Effect.Effect<MnistData, DataSourceError | IdxFormatError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(dir).pipe(
      Effect.mapError(
        (e) =>
          new DataSourceError({
            source: `folder ${dir}`,
            problem:
              e._tag === "SystemError" && e.reason === "NotFound"
                ? `the folder ${dir} does not exist. ${MISSING_FIX}`
                : `cannot read ${dir}: ${e.message}`
          })
      )
    )
    if (info.type !== "Directory")
      return yield* Effect.fail(
        new DataSourceError({ source: `folder ${dir}`, problem: `${dir} is not a folder. ${MISSING_FIX}` })
      )

    const train = yield* readSplit(fs, dir, IDX_NAMES.trainImages, IDX_NAMES.trainLabels)
    const test = yield* readSplit(fs, dir, IDX_NAMES.testImages, IDX_NAMES.testLabels)

    const indicesPath = nodePath.join(dir, VALIDATION_INDICES_FILE)
    const readIndices = fs
      .readFileString(indicesPath)
      .pipe(
        Effect.mapError((e) => new DataSourceError({ source: indicesPath, problem: `cannot read it: ${e.message}` }))
      )
    const hasIndices = yield* fs.exists(indicesPath).pipe(Effect.orElseSucceed(() => false))
    const validationIndices = hasIndices
      ? yield* Effect.flatMap(readIndices, (text) => parseValidationIndices(text, indicesPath, train.count))
      : undefined

    return {
      train,
      test,
      ...(validationIndices ? { validationIndices } : {}),
      source: `folder ${dir}`
    } satisfies MnistData
  })
