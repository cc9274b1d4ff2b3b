/**
 * Small random inference problems for the property tests, and a plain-JS float64 reference of
 * the energy F (docs/method.md, The energy) that shares no code with src/.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as fc from "fast-check"
import {
  decodeDense as decode,
  type DenseDecoder as Decoder,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder
} from "../../src/models/decoders/dense.js"
import type { Energy } from "../../src/models/energy.js"
import { codeTermsOf } from "../../src/models/terms/registry.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { gaussian, seeded, sparseCodes } from "./tf.js"

/** The weights of the energy's terms; ν (covariance) is off when absent. */
export interface EnergyWeights {
  readonly lambda: number
  readonly beta: number
  readonly tau: number
  readonly gamma: number
  readonly covariance?: number
}

/** The library's energy with these weights, built as the settings build it. */
export const libraryEnergy = (w: EnergyWeights): Energy => ({
  lambda: w.lambda,
  terms: codeTermsOf({ ...w, covariance: w.covariance ?? 0 })
})

export interface ProblemSpec {
  readonly seed: number
  /** Batch rows N. */
  readonly n: number
  /** Code dimension l. */
  readonly l: number
  /** Input dimension d. */
  readonly d: number
  /** Hidden widths of the decoder ([] = linear dictionary). */
  readonly hidden: ReadonlyArray<number>
  readonly weights: EnergyWeights
}

export interface Problem {
  readonly spec: ProblemSpec
  readonly dec: Decoder
  readonly x: tf.Tensor2D
  readonly zEnc: tf.Tensor2D
  /** A non-negative warm start (the encoder's prediction, as in training). */
  readonly z0: tf.Tensor2D
  readonly host: HostProblem
  readonly dispose: () => void
}

export interface HostLayer {
  readonly W: Float64Array
  readonly b: Float64Array | null
  readonly fanIn: number
  readonly fanOut: number
}

/** The problem's data copied to plain arrays, for reference computations. */
export interface HostProblem {
  readonly layers: ReadonlyArray<HostLayer>
  readonly x: Float64Array
  readonly zEnc: Float64Array
  readonly n: number
  readonly l: number
  readonly d: number
  readonly weights: EnergyWeights
}

export const hostLayers = (dec: Decoder): HostLayer[] =>
  dec.layers.map((layer) => ({
    W: Float64Array.from(layer.W.dataSync() as Float32Array),
    b: layer.b === null ? null : Float64Array.from(layer.b.dataSync() as Float32Array),
    fanIn: layer.W.shape[0] as number,
    fanOut: layer.W.shape[1] as number
  }))

/** D(z) for an n-row batch in float64. */
export const hostDecode = (layers: ReadonlyArray<HostLayer>, z: ArrayLike<number>, n: number): Float64Array => {
  let h: ArrayLike<number> = z
  layers.forEach((layer, k) => {
    const out = new Float64Array(n * layer.fanOut)
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < layer.fanIn; p++) {
        const v = h[i * layer.fanIn + p]
        if (v === 0) continue
        for (let j = 0; j < layer.fanOut; j++) out[i * layer.fanOut + j] += v * layer.W[p * layer.fanOut + j]
      }
      if (k + 1 < layers.length) {
        for (let j = 0; j < layer.fanOut; j++) {
          const q = i * layer.fanOut + j
          out[q] = Math.max(0, out[q] + (layer.b === null ? 0 : layer.b[j]))
        }
      }
    }
    h = out
  })
  return h as Float64Array
}

export interface HostEnergy {
  readonly reconstruction: number
  readonly sparsity: number
  readonly variance: number
  readonly encoder: number
  readonly covariance: number
  readonly total: number
}

/** F(Z) in float64. */
export const hostEnergy = (p: HostProblem, z: ArrayLike<number>): HostEnergy => {
  const { n, l, d, weights: w } = p
  const out = hostDecode(p.layers, z, n)
  let rec = 0
  for (let q = 0; q < n * d; q++) rec += (p.x[q] - out[q]) ** 2
  rec /= d
  let l1 = 0
  for (let q = 0; q < n * l; q++) l1 += Math.abs(z[q])
  let variance = 0
  if (w.beta > 0) {
    for (let j = 0; j < l; j++) {
      let mean = 0
      for (let i = 0; i < n; i++) mean += z[i * l + j]
      mean /= n
      let ss = 0
      for (let i = 0; i < n; i++) ss += (z[i * l + j] - mean) ** 2
      const std = Math.sqrt(ss / Math.max(n - 1, 1))
      variance += Math.max(0, w.tau - std) ** 2
    }
    variance *= w.beta
  }
  let enc = 0
  if (w.gamma > 0) {
    for (let q = 0; q < n * l; q++) enc += (z[q] - p.zEnc[q]) ** 2
    enc *= w.gamma / l
  }
  let covariance = 0
  const nu = w.covariance ?? 0
  if (nu > 0) {
    const mean = new Float64Array(l)
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) mean[j] += z[i * l + j] / n
    for (let j = 0; j < l; j++) {
      for (let k = 0; k < l; k++) {
        if (j === k) continue
        let c = 0
        for (let i = 0; i < n; i++) c += (z[i * l + j] - mean[j]) * (z[i * l + k] - mean[k])
        covariance += (c / Math.max(n - 1, 1)) ** 2
      }
    }
    covariance *= nu / l
  }
  const sparsity = w.lambda * l1
  return {
    reconstruction: rec,
    sparsity,
    variance,
    encoder: enc,
    covariance,
    total: rec + sparsity + variance + enc + covariance
  }
}

/** Eigenvalues of a symmetric k×k matrix (row-major) by cyclic Jacobi rotations, in float64. */
export const symmetricEigenvalues = (a: ArrayLike<number>, k: number): number[] => {
  const m = Float64Array.from(a)
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p * k + q] ** 2
    if (off < 1e-30) break
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p * k + q]
        if (Math.abs(apq) < 1e-300) continue
        const theta = (m[q * k + q] - m[p * k + p]) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let r = 0; r < k; r++) {
          const arp = m[r * k + p]
          const arq = m[r * k + q]
          m[r * k + p] = c * arp - s * arq
          m[r * k + q] = s * arp + c * arq
        }
        for (let r = 0; r < k; r++) {
          const apr = m[p * k + r]
          const aqr = m[q * k + r]
          m[p * k + r] = c * apr - s * aqr
          m[q * k + r] = s * apr + c * aqr
        }
      }
    }
  }
  return Array.from({ length: k }, (_, i) => m[i * k + i]).sort((u, v) => v - u)
}

/** λmax(W Wᵀ) for a row-major r×c matrix W, in float64. */
export const largestGramEigenvalue = (W: ArrayLike<number>, r: number, c: number): number => {
  const g = new Float64Array(r * r)
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let s = 0
      for (let q = 0; q < c; q++) s += W[i * c + q] * W[j * c + q]
      g[i * r + j] = s
    }
  return symmetricEigenvalues(g, r)[0]
}

/**
 * The exact Lipschitz constant of ∇f for a linear decoder with β = 0:
 * (2/d)·λmax(WWᵀ) + 2γ/l.
 */
export const exactLinearLipschitz = (p: HostProblem): number => {
  const layer = p.layers[0]
  return (
    (2 / p.d) * largestGramEigenvalue(layer.W, layer.fanIn, layer.fanOut) +
    (p.weights.gamma > 0 ? (2 * p.weights.gamma) / p.l : 0)
  )
}

/**
 * A random problem: a PyTorch-initialised decoder (with random hidden biases, so that some
 * hidden units are off), inputs made by the decoder from sparse codes plus noise, and a
 * non-negative encoder prediction used both as zEnc and as the warm start.
 */
export const makeProblem = (spec: ProblemSpec): Problem => {
  const { n, l, d } = spec
  const rng = seeded(spec.seed)
  const dec = makeDecoder(rng, l, spec.hidden, d, tfjsLinalg)
  for (const layer of dec.layers) {
    if (layer.b !== null) {
      const size = layer.b.shape[0] as number
      layer.b.assign(tf.tensor1d(gaussian(rng, 1, size, 0.3)))
    }
  }
  const zTrue = sparseCodes(rng, n, l, { nonZeros: [1, Math.min(3, l)], low: 0.5, high: 2 })
  const clean = tf.tidy(() => decode(dec, tf.tensor2d(zTrue, [n, l])))
  const noise = gaussian(rng, n, d, 0.1)
  const xValues = Float32Array.from(clean.dataSync() as Float32Array, (v, q) => v + noise[q])
  clean.dispose()
  const encValues = Float32Array.from(gaussian(rng, n, l, 0.7), (v) => Math.max(0, v))
  const x = tf.tensor2d(xValues, [n, d])
  const zEnc = tf.tensor2d(encValues, [n, l])
  const z0 = tf.tensor2d(encValues, [n, l])
  const host: HostProblem = {
    layers: hostLayers(dec),
    x: Float64Array.from(xValues),
    zEnc: Float64Array.from(encValues),
    n,
    l,
    d,
    weights: spec.weights
  }
  return {
    spec,
    dec,
    x,
    zEnc,
    z0,
    host,
    dispose: () => {
      disposeDecoder(dec)
      x.dispose()
      zEnc.dispose()
      z0.dispose()
    }
  }
}

/** Run body on a fresh problem and always release its tensors. */
export const withProblem = <T>(spec: ProblemSpec, body: (p: Problem) => T): T => {
  const p = makeProblem(spec)
  try {
    return body(p)
  } finally {
    p.dispose()
  }
}

export interface SpecOptions {
  /** Decoder hidden widths: "linear" = [], "hidden" = one layer of random width. */
  readonly decoder: "linear" | "hidden" | "either"
  /** β: 0, or a random positive value. */
  readonly beta: "zero" | "positive"
  /** γ: 0, positive, or either. */
  readonly gamma?: "zero" | "positive" | "either"
  readonly maxRows?: number
}

/** Problem specs of the sizes the brief asks for: N 2..12, l 2..10, d 3..20. */
export const problemSpec = (o: SpecOptions): fc.Arbitrary<ProblemSpec> => {
  const hidden: fc.Arbitrary<number[]> =
    o.decoder === "linear"
      ? fc.constant<number[]>([])
      : o.decoder === "hidden"
        ? fc.integer({ min: 2, max: 16 }).map((m) => [m])
        : fc.oneof(
            fc.constant<number[]>([]),
            fc.integer({ min: 2, max: 16 }).map((m) => [m])
          )
  const gammaMode = o.gamma ?? "either"
  const gamma: fc.Arbitrary<number> =
    gammaMode === "zero"
      ? fc.constant(0)
      : gammaMode === "positive"
        ? fc.double({ min: 0.05, max: 2, noNaN: true })
        : fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 2, noNaN: true }))
  const beta: fc.Arbitrary<number> = o.beta === "zero" ? fc.constant(0) : fc.double({ min: 0.5, max: 10, noNaN: true })
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      n: fc.integer({ min: 2, max: o.maxRows ?? 12 }),
      l: fc.integer({ min: 2, max: 10 }),
      d: fc.integer({ min: 3, max: 20 }),
      hidden,
      lambda: fc.double({ min: 1e-3, max: 0.2, noNaN: true }),
      beta,
      tau: fc.constantFrom(0.5, 1),
      gamma
    })
    .map(({ seed, n, l, d, hidden, lambda, beta, tau, gamma }) => ({
      seed,
      n,
      l,
      d,
      hidden,
      weights: { lambda, beta, tau, gamma }
    }))
}
