/**
 * Shared helpers for the model tests: one tfjs backend per test file (vitest's forks pool gives
 * each file its own process, hence its own tfjs engine), random sparse codes and dictionaries from
 * a seeded source, tensor ↔ array conversions and a tensor-leak check.
 */
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { beforeAll, expect } from "vitest"
import { makeRng } from "../../src/data/random.js"
import { normalArray, type UniformSource } from "../../src/models/rng.js"

let ready: Promise<string> | null = null

/** Select TEST_BACKEND (default wasm) once; later calls return the same promise. */
export const setTestBackend = (): Promise<string> => {
  if (ready === null) {
    ready = (async () => {
      const name = process.env.TEST_BACKEND ?? "wasm"
      const ok = await tf.setBackend(name)
      if (!ok) throw new Error(`tf.setBackend("${name}") failed`)
      await tf.ready()
      return name
    })()
  }
  return ready
}

/** Register a beforeAll that selects the backend; call once at the top of a test file. */
export const useTestBackend = (): void => {
  beforeAll(async () => {
    await setTestBackend()
  })
}

/**
 * fast-check's seed for this file: FC_SEED=<n> replays a run, FC_SEED=random draws a fresh seed
 * (printed with any failure), and by default a fixed seed keeps the suite reproducible.
 */
export const configureFastCheck = (defaultSeed = 20220901): void => {
  const raw = process.env.FC_SEED
  if (raw === "random") return
  const seed = raw !== undefined && raw !== "" ? Number(raw) : defaultSeed
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed })
}

/** A seeded uniform source (mulberry32), shaped as the models' UniformSource. */
export const seeded = (
  seed: number
): UniformSource & { readonly int: (n: number) => number; readonly permutation: (n: number) => number[] } =>
  makeRng(seed)

/** Row-major n×d Gaussian values. */
export const gaussian = (rng: UniformSource, rows: number, cols: number, std = 1): Float32Array =>
  normalArray(rng, rows * cols, std)

export interface SparseCodeOptions {
  /** Non-zeros per row: an exact count, or [min, max] inclusive. */
  readonly nonZeros: number | readonly [number, number]
  /** Range of the non-zero values (non-negative). */
  readonly low?: number
  readonly high?: number
}

/**
 * A random non-negative sparse code matrix, n×l row-major: each row has its own random support
 * of the requested size and values uniform in [low, high].
 */
export const sparseCodes = (
  rng: UniformSource & { readonly permutation: (n: number) => number[] },
  n: number,
  l: number,
  options: SparseCodeOptions
): Float32Array => {
  const [kMin, kMax] = typeof options.nonZeros === "number" ? [options.nonZeros, options.nonZeros] : options.nonZeros
  const low = options.low ?? 1
  const high = options.high ?? 2
  const out = new Float32Array(n * l)
  for (let i = 0; i < n; i++) {
    const k = Math.min(l, kMin + Math.floor(rng.next() * (kMax - kMin + 1)))
    const support = rng.permutation(l).slice(0, k)
    for (const j of support) out[i * l + j] = low + (high - low) * rng.next()
  }
  return out
}

/** A random dictionary with l unit-norm atoms in R^d, stored as the rows of an l×d matrix. */
export const unitNormDictionary = (rng: UniformSource, l: number, d: number): Float32Array => {
  const w = gaussian(rng, l, d)
  for (let i = 0; i < l; i++) {
    let s = 0
    for (let j = 0; j < d; j++) s += w[i * d + j] ** 2
    const norm = Math.sqrt(s) || 1
    for (let j = 0; j < d; j++) w[i * d + j] /= norm
  }
  return w
}

/** Plain-JS row-major product (n×k)·(k×m), in float64. */
export const matMulHost = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
  k: number,
  m: number
): Float64Array => {
  const out = new Float64Array(n * m)
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]
      if (aip === 0) continue
      for (let j = 0; j < m; j++) out[i * m + j] += aip * b[p * m + j]
    }
  return out
}

export const tensor2d = (values: ArrayLike<number>, rows: number, cols: number): tf.Tensor2D =>
  tf.tensor2d(Float32Array.from(values), [rows, cols])

/** A tensor's values as nested arrays (rows of a matrix). */
export const toRows = (t: tf.Tensor2D): number[][] => t.arraySync()

/** A tensor's values as a flat row-major copy. */
export const toFlat = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync() as Float32Array)

/** Row i of a row-major n×l matrix. */
export const row = (values: ArrayLike<number>, i: number, l: number): number[] =>
  Array.from({ length: l }, (_, j) => values[i * l + j])

/** Largest |a − b| over two same-length arrays. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]))
  return m
}

/** Expect two arrays to agree entrywise within atol + rtol·max|b|. */
export const expectClose = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  rtol: number,
  atol = 0,
  what = "values"
): void => {
  const diff = maxAbsDiff(a, b)
  const bound = atol + rtol * maxAbs(b)
  if (!(diff <= bound)) {
    throw new Error(
      `${what}: max |a − b| = ${diff.toExponential(3)} exceeds ${bound.toExponential(3)} (max |b| = ${maxAbs(b).toExponential(3)})`
    )
  }
}

/**
 * Run fn and assert that it leaves tf.memory().numTensors unchanged; returns fn's result, which
 * therefore must not hold tensors of its own.
 */
export const leakCheck = <T>(fn: () => T): T => {
  const before = tf.memory().numTensors
  const out = fn()
  const after = tf.memory().numTensors
  expect(after - before, "tensors leaked").toBe(0)
  return out
}

/** The same check for an async fn. */
export const leakCheckAsync = async <T>(fn: () => Promise<T>): Promise<T> => {
  const before = tf.memory().numTensors
  const out = await fn()
  const after = tf.memory().numTensors
  expect(after - before, "tensors leaked").toBe(0)
  return out
}
