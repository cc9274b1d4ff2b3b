/**
 * The hand-written gradients of src/models against tfjs autograd of forward passes written here
 * (independently of src/), and the linear term's Lipschitz constant against eigenvalues computed
 * in plain float64 JS.
 */
import * as tf from "@tensorflow/tfjs-core"
// tfjs-core registers no gradients by itself; autograd needs them.
import "@tensorflow/tfjs-core/dist/register_all_gradients.js"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type DenseDecoder as Decoder,
  decodeDense as decode,
  denseLossGradients as decoderLossGradients,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder,
  reconstructionGradientDirect,
  denseReconstructionTerm as reconstructionTerm
} from "../../src/models/decoders/dense.js"
import { disposeLista, encode, listaLossGradients, makeLista } from "../../src/models/encoder.js"
import { energy, smoothGradient } from "../../src/models/energy.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import {
  type EnergyWeights,
  hostEnergy,
  hostLayers,
  largestGramEigenvalue,
  libraryEnergy
} from "../helpers/problems.js"
import {
  configureFastCheck,
  expectClose,
  gaussian,
  seeded,
  toFlat,
  unitNormDictionary,
  useTestBackend
} from "../helpers/tf.js"

useTestBackend()
configureFastCheck()

const RUNS = 15
const RTOL = 2e-4
const ATOL = 1e-6

/** tf.tidy for a function that returns host values only (tidy's types want tensors). */
const hostTidy = <T>(f: () => T): T => {
  let out: T | undefined
  tf.tidy(() => {
    out = f()
  })
  return out as T
}

interface LayerParams {
  readonly W: tf.Tensor2D
  readonly b: tf.Tensor1D | null
}

/** D(z) = …relu(relu(z W1 + b1) W2 + b2)… W_L, written here with plain tfjs ops. */
const forward = (layers: ReadonlyArray<LayerParams>, z: tf.Tensor2D): tf.Tensor2D => {
  let h = z
  layers.forEach((layer, k) => {
    h = tf.matMul(h, layer.W)
    if (k + 1 < layers.length) h = tf.relu(layer.b === null ? h : tf.add<tf.Tensor2D>(h, layer.b))
  })
  return h
}

const paramsOf = (dec: Decoder): LayerParams[] =>
  dec.layers.map((layer) => ({ W: layer.W as tf.Tensor as tf.Tensor2D, b: layer.b as tf.Tensor as tf.Tensor1D | null }))

/** The shapes to cover: linear (Gram form), one hidden layer in and out of the Gram shortcut, two hidden layers. */
type DecoderKind = "linear" | "hidden-gram" | "hidden-direct" | "two-hidden"

const hiddenFor = (kind: DecoderKind, d: number, m: number): number[] => {
  switch (kind) {
    case "linear":
      return []
    case "hidden-gram":
      return [Math.max(2, Math.min(m, 2 * d - 1))] // m < 2d: last layer in Gram form
    case "hidden-direct":
      return [2 * d + m] // m ≥ 2d: plain backprop through the last layer
    case "two-hidden":
      return [m, Math.max(2, m - 1)]
  }
}

interface Setup {
  readonly n: number
  readonly l: number
  readonly d: number
  readonly dec: Decoder
  readonly x: tf.Tensor2D
  readonly z: tf.Tensor2D
  readonly dispose: () => void
}

const setupArb = (kinds: ReadonlyArray<DecoderKind>) =>
  fc.record({
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    n: fc.integer({ min: 3, max: 12 }),
    l: fc.integer({ min: 2, max: 10 }),
    d: fc.integer({ min: 3, max: 20 }),
    m: fc.integer({ min: 2, max: 16 }),
    kind: fc.constantFrom(...kinds)
  })

/** A decoder with random biases, inputs, and codes that are ≥ 0 with about a third exactly 0. */
const makeSetup = (a: { seed: number; n: number; l: number; d: number; m: number; kind: DecoderKind }): Setup => {
  const rng = seeded(a.seed)
  const dec = makeDecoder(rng, a.l, hiddenFor(a.kind, a.d, a.m), a.d, tfjsLinalg)
  for (const layer of dec.layers) {
    if (layer.b !== null) layer.b.assign(tf.tensor1d(gaussian(rng, 1, layer.b.shape[0] as number, 0.3)))
  }
  const x = tf.tensor2d(gaussian(rng, a.n, a.d), [a.n, a.d])
  const zValues = Float32Array.from(gaussian(rng, a.n, a.l), (v) => (v < -0.4 ? 0 : Math.abs(v) + 0.05))
  const z = tf.tensor2d(zValues, [a.n, a.l])
  return {
    n: a.n,
    l: a.l,
    d: a.d,
    dec,
    x,
    z,
    dispose: () => {
      disposeDecoder(dec)
      x.dispose()
      z.dispose()
    }
  }
}

const withSetup = <T>(a: Parameters<typeof makeSetup>[0], body: (s: Setup) => T): T => {
  const s = makeSetup(a)
  try {
    return body(s)
  } finally {
    s.dispose()
  }
}

/** (1/d) Σ ‖x − D(z)‖², the reconstruction term of the energy. */
const reconstructionEnergy = (
  layers: ReadonlyArray<LayerParams>,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  d: number
): tf.Scalar => tf.div(tf.sum(tf.square(tf.sub(x, forward(layers, z)))), d)

describe("reconstruction gradient ∂/∂z (1/d)Σ‖x − D(z)‖²", () => {
  it("reconstructionTerm(dec, x).gradient = reconstructionGradientDirect = autograd, for linear, one- and two-hidden-layer decoders", () => {
    fc.assert(
      fc.property(setupArb(["linear", "hidden-gram", "hidden-direct", "two-hidden"]), (a) =>
        withSetup(a, (s) => {
          const params = paramsOf(s.dec)
          const auto = tf.tidy(() =>
            toFlat(tf.grad((z: tf.Tensor) => reconstructionEnergy(params, s.x, z as tf.Tensor2D, s.d))(s.z))
          )
          const term = reconstructionTerm(s.dec, s.x)
          try {
            const viaTerm = tf.tidy(() => toFlat(term.gradient(s.z)))
            const direct = tf.tidy(() => toFlat(reconstructionGradientDirect(s.dec, s.z, s.x)))
            expectClose(viaTerm, auto, RTOL, ATOL, `term.gradient vs autograd (${a.kind})`)
            expectClose(direct, auto, RTOL, ATOL, `reconstructionGradientDirect vs autograd (${a.kind})`)
            // The live-rows variant FISTA uses: any subset of rows, in any order.
            const gradientRows = (term as { gradientRows?: (y: Float32Array, rows: Int32Array) => Float32Array })
              .gradientRows
            if (gradientRows !== undefined) {
              // FISTA passes its live rows in increasing order: a random non-empty subset, sorted.
              const order = seeded(a.seed ^ 0x9e3779b9).permutation(s.n)
              const rows = Int32Array.from(order.slice(0, 1 + (a.seed % s.n))).sort()
              const zHost = s.z.dataSync()
              const y = new Float32Array(rows.length * s.l)
              rows.forEach((r, p) => y.set(zHost.subarray(r * s.l, (r + 1) * s.l), p * s.l))
              const got = gradientRows(y, rows)
              const want = new Float32Array(rows.length * s.l)
              rows.forEach((r, p) => want.set(auto.subarray(r * s.l, (r + 1) * s.l), p * s.l))
              expectClose(got, want, RTOL, ATOL, `term.gradientRows vs autograd (${a.kind}, rows ${Array.from(rows)})`)
            }
          } finally {
            term.dispose()
          }
        })
      ),
      { numRuns: 3 * RUNS }
    )
  })
})

describe("gradientRows contract (ReconstructionTerm: 'row p being row rows[p] of the batch')", () => {
  it("holds when rows lists every row of the batch in another order (multi-layer decoder)", () => {
    // FISTA today passes live rows in increasing order, so this only matters to other callers:
    // with rows.length = N the multi-layer term uses x and its cached target in batch order.
    withSetup({ seed: 17, n: 3, l: 2, d: 3, m: 2, kind: "two-hidden" }, (s) => {
      const term = reconstructionTerm(s.dec, s.x)
      try {
        const gradientRows = (term as { gradientRows?: (y: Float32Array, rows: Int32Array) => Float32Array })
          .gradientRows
        if (gradientRows === undefined) return
        const full = tf.tidy(() => toFlat(term.gradient(s.z)))
        const zHost = s.z.dataSync()
        const rows = Int32Array.from([2, 1, 0])
        const y = new Float32Array(3 * s.l)
        rows.forEach((r, p) => y.set(zHost.subarray(r * s.l, (r + 1) * s.l), p * s.l))
        const want = new Float32Array(3 * s.l)
        rows.forEach((r, p) => want.set(full.subarray(r * s.l, (r + 1) * s.l), p * s.l))
        expectClose(gradientRows(y, rows), want, RTOL, ATOL, "gradientRows with rows [2, 1, 0]")
      } finally {
        term.dispose()
      }
    })
  })
})

/** Unbiased column standard deviations, written here. */
const columnStdRef = (z: tf.Tensor2D): tf.Tensor1D => {
  const n = z.shape[0]
  return tf.sqrt(tf.div<tf.Tensor1D>(tf.sum(tf.square(tf.sub(z, tf.mean(z, 0))), 0), Math.max(n - 1, 1)))
}

/** (ν/l) Σ_{j≠k} C_jk² with C the batch covariance of the columns, written out entry by entry. */
const covarianceRef = (z: tf.Tensor2D, nu: number): tf.Scalar => {
  const [n, l] = z.shape
  const centred = tf.sub(z, tf.mean(z, 0))
  const columns = tf.unstack(centred, 1)
  const terms: tf.Tensor[] = []
  for (let j = 0; j < l; j++)
    for (let k = 0; k < l; k++)
      if (j !== k) terms.push(tf.square(tf.div(tf.sum(tf.mul(columns[j], columns[k])), Math.max(n - 1, 1))))
  return tf.mul(tf.addN(terms), nu / l) as tf.Scalar
}

/** f = F − λ‖z‖₁: reconstruction + β Σⱼ max(0, τ − σⱼ)² + (γ/l) Σ‖z − zEnc‖² + (ν/l) Σ_{j≠k} C_jk². */
const smoothEnergy = (
  layers: ReadonlyArray<LayerParams>,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  zEnc: tf.Tensor2D,
  w: EnergyWeights
): tf.Scalar => {
  const [, l] = z.shape
  const d = x.shape[1]
  const rec = reconstructionEnergy(layers, x, z, d)
  const variance = tf.mul(tf.sum(tf.square(tf.relu(tf.sub(w.tau, columnStdRef(z))))), w.beta)
  const enc = tf.mul(tf.sum(tf.square(tf.sub(z, zEnc))), w.gamma / l)
  return tf.addN([rec, variance, enc, covarianceRef(z, w.covariance ?? 0)]) as tf.Scalar
}

describe("smooth part of the energy", () => {
  it("smoothGradient with β > 0, γ > 0 and ν ≥ 0 equals autograd of F − λ‖z‖₁, and energy() equals a float64 reference", () => {
    fc.assert(
      fc.property(
        setupArb(["linear", "hidden-gram", "two-hidden"]),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.double({ min: 1e-3, max: 0.1, noNaN: true }),
        fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 5, noNaN: true })),
        (a, beta, gamma, lambda, covariance) =>
          withSetup(a, (s) => {
            const rng = seeded(a.seed ^ 0x51ed270b)
            // Columns on different scales, so that some σⱼ are below τ (hinge active) and some above; none is 0.
            const scales = Array.from({ length: s.l }, (_, j) => (j % 2 === 0 ? 0.05 : 1.5) * (0.5 + rng.next()))
            const zValues = Float32Array.from(gaussian(rng, s.n, s.l), (v, q) => 0.2 + scales[q % s.l] * Math.abs(v))
            const w: EnergyWeights = { lambda, beta, tau: 0.5, gamma, covariance }
            const z = tf.tensor2d(zValues, [s.n, s.l])
            const zEnc = tf.tensor2d(Float32Array.from(gaussian(rng, s.n, s.l), Math.abs), [s.n, s.l])
            const term = reconstructionTerm(s.dec, s.x)
            try {
              const std = toFlat(tf.tidy(() => columnStdRef(z)))
              expect(Math.min(...std)).toBeGreaterThan(0)
              expect(std.some((v) => v < 0.5)).toBe(true)
              const params = paramsOf(s.dec)
              const auto = tf.tidy(() =>
                toFlat(tf.grad((zz: tf.Tensor) => smoothEnergy(params, s.x, zz as tf.Tensor2D, zEnc, w))(z))
              )
              const got = tf.tidy(() => toFlat(smoothGradient(term, z, zEnc, libraryEnergy(w))))
              expectClose(
                got,
                auto,
                RTOL,
                ATOL,
                `smoothGradient vs autograd (${a.kind}, β=${beta}, γ=${gamma}, ν=${covariance})`
              )

              const e = energy(
                { trace: (zz) => ({ output: decode(s.dec, zz), hidden: null }) },
                s.x,
                z,
                zEnc,
                libraryEnergy(w)
              )
              const ref = hostEnergy(
                {
                  layers: hostLayers(s.dec),
                  x: Float64Array.from(s.x.dataSync()),
                  zEnc: Float64Array.from(zEnc.dataSync()),
                  n: s.n,
                  l: s.l,
                  d: s.d,
                  weights: w
                },
                zValues
              )
              for (const key of ["reconstruction", "sparsity", "variance", "encoder", "covariance"] as const) {
                expect(Math.abs((e.byTerm[key] ?? 0) - ref[key]), key).toBeLessThanOrEqual(
                  1e-5 * (Math.abs(ref.total) + 1e-3)
                )
              }
              expect(Math.abs(e.total - ref.total), "total").toBeLessThanOrEqual(1e-5 * (Math.abs(ref.total) + 1e-3))
            } finally {
              term.dispose()
              z.dispose()
              zEnc.dispose()
            }
          })
      ),
      { numRuns: 2 * RUNS }
    )
  })
})

describe("LISTA encoder", () => {
  it("listaLossGradients equals autograd of mean((E(x) − target)²) for W, c and S", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 0x7fffffff }),
          n: fc.integer({ min: 1, max: 12 }),
          l: fc.integer({ min: 2, max: 10 }),
          d: fc.integer({ min: 3, max: 20 }),
          steps: fc.integer({ min: 0, max: 4 })
        }),
        ({ seed, n, l, d, steps }) => {
          const rng = seeded(seed)
          const e = makeLista(rng, d, l, steps, tfjsLinalg)
          e.c.assign(tf.tensor1d(gaussian(rng, 1, l, 0.2)))
          const x = tf.tensor2d(gaussian(rng, n, d), [n, d])
          const target = tf.tensor2d(
            Float32Array.from(gaussian(rng, n, l), (v) => Math.max(0, v)),
            [n, l]
          )
          try {
            const encodeRef = (W: tf.Tensor, c: tf.Tensor, S: tf.Tensor): tf.Tensor2D => {
              const b = tf.add<tf.Tensor2D>(tf.matMul(x, W as tf.Tensor2D), c)
              let zt = tf.relu(b)
              for (let t = 1; t <= steps; t++) zt = tf.relu(tf.add<tf.Tensor2D>(b, tf.matMul(zt, S as tf.Tensor2D)))
              return zt
            }
            const loss = (W: tf.Tensor, c: tf.Tensor, S: tf.Tensor): tf.Scalar =>
              tf.mean(tf.square(tf.sub(encodeRef(W, c, S), target)))
            // With T = 0, S takes no part in the forward pass: its gradient is 0 (autograd refuses it).
            const auto =
              steps > 0
                ? tf.tidy(() => tf.grads(loss)([e.W, e.c, e.S]).map(toFlat))
                : [
                    ...tf.tidy(() =>
                      tf
                        .grads((W: tf.Tensor, c: tf.Tensor) => loss(W, c, e.S))([e.W, e.c])
                        .map(toFlat)
                    ),
                    new Float32Array(l * l)
                  ]
            const autoLoss = tf.tidy(() => loss(e.W, e.c, e.S).dataSync()[0])
            const hand = tf.tidy(() => {
              const r = listaLossGradients(e, x, target)
              return {
                codes: toFlat(r.codes),
                loss: r.loss().dataSync()[0],
                W: toFlat(r.grads.W),
                c: toFlat(r.grads.c),
                S: toFlat(r.grads.S)
              }
            })
            const codes = tf.tidy(() => toFlat(encode(e, x)))
            const codesRef = tf.tidy(() => toFlat(encodeRef(e.W, e.c, e.S)))
            expectClose(codes, codesRef, 1e-5, 1e-6, "encode vs reference forward")
            expectClose(hand.codes, codesRef, 1e-5, 1e-6, "listaLossGradients codes")
            expect(Math.abs(hand.loss - autoLoss)).toBeLessThanOrEqual(1e-5 * Math.abs(autoLoss) + 1e-8)
            expectClose(hand.W, auto[0], RTOL, ATOL, "∂/∂W")
            expectClose(hand.c, auto[1], RTOL, ATOL, "∂/∂c")
            expectClose(hand.S, auto[2], RTOL, ATOL, "∂/∂S")
          } finally {
            disposeLista(e)
            x.dispose()
            target.dispose()
          }
        }
      ),
      { numRuns: 2 * RUNS }
    )
  })
})

describe("decoder training loss", () => {
  it("decoderLossGradients equals autograd of mean((x − D(z))²) for every weight and bias", () => {
    fc.assert(
      fc.property(setupArb(["linear", "hidden-gram", "hidden-direct", "two-hidden"]), (a) =>
        withSetup(a, (s) => {
          const layerCount = s.dec.layers.length
          const flatParams: tf.Tensor[] = []
          for (const layer of s.dec.layers) {
            flatParams.push(layer.W)
            if (layer.b !== null) flatParams.push(layer.b)
          }
          const unflatten = (ts: tf.Tensor[]): LayerParams[] => {
            let k = 0
            return s.dec.layers.map((layer) => {
              const W = ts[k++] as tf.Tensor2D
              const b = layer.b === null ? null : (ts[k++] as tf.Tensor1D)
              return { W, b }
            })
          }
          const loss = (...ts: tf.Tensor[]): tf.Scalar => tf.mean(tf.square(tf.sub(s.x, forward(unflatten(ts), s.z))))
          const auto = tf.tidy(() => tf.grads(loss)(flatParams).map(toFlat))
          const autoLoss = tf.tidy(() => loss(...flatParams).dataSync()[0])
          const hand = hostTidy(() => {
            const r = decoderLossGradients(s.dec, s.z, s.x)
            return {
              reconstruction: toFlat(r.reconstruction),
              loss: r.loss().dataSync()[0],
              W: r.grads.W.map(toFlat),
              b: r.grads.b.map((g) => (g === null ? null : toFlat(g)))
            }
          })
          const decoded = tf.tidy(() => toFlat(decode(s.dec, s.z)))
          const decodedRef = tf.tidy(() => toFlat(forward(paramsOf(s.dec), s.z)))
          expectClose(decoded, decodedRef, 1e-5, 1e-6, "decode vs reference forward")
          expectClose(hand.reconstruction, decodedRef, 1e-5, 1e-6, "decoderLossGradients reconstruction")
          expect(Math.abs(hand.loss - autoLoss)).toBeLessThanOrEqual(1e-5 * Math.abs(autoLoss) + 1e-8)
          expect(hand.W.length).toBe(layerCount)
          let k = 0
          s.dec.layers.forEach((layer, i) => {
            expectClose(hand.W[i], auto[k++], RTOL, ATOL, `∂/∂W${i + 1} (${a.kind})`)
            if (layer.b === null) {
              expect(hand.b[i]).toBeNull()
            } else {
              const hb = hand.b[i]
              expect(hb).not.toBeNull()
              expectClose(hb as Float32Array, auto[k++], RTOL, ATOL, `∂/∂b${i + 1} (${a.kind})`)
            }
          })
        })
      ),
      { numRuns: 2 * RUNS }
    )
  })
})

/** lipschitz() of the linear term for a dictionary given as the rows of an l×d matrix. */
const linearLipschitz = (W: ArrayLike<number>, l: number, d: number): number => {
  const dec = makeDecoder(seeded(1), l, [], d, tfjsLinalg)
  dec.layers[0].W.assign(tf.tensor2d(Float32Array.from(W), [l, d]))
  const x = tf.zeros([1, d]) as tf.Tensor2D
  const term = reconstructionTerm(dec, x)
  try {
    return term.lipschitz()
  } finally {
    term.dispose()
    x.dispose()
    disposeDecoder(dec)
  }
}

describe("Lipschitz constant of the linear reconstruction gradient", () => {
  it("lipschitz() equals (2/d)·λmax(WWᵀ) within 1e-3 relative on random dictionaries", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 3, max: 20 }),
        fc.constantFrom("uniform" as const, "unit-norm" as const),
        (seed, l, d, init) => {
          const rng = seeded(seed)
          const W =
            init === "unit-norm"
              ? unitNormDictionary(rng, l, d)
              : Float32Array.from({ length: l * d }, () => (2 * rng.next() - 1) / Math.sqrt(l))
          const want = (2 / d) * largestGramEigenvalue(W, l, d)
          const got = linearLipschitz(W, l, d)
          if (!(Math.abs(got - want) <= 1e-3 * want)) {
            throw new Error(
              `lipschitz() = ${got}, (2/d)·λmax = ${want} (relative error ${((got - want) / want).toExponential(2)}; l=${l} d=${d})`
            )
          }
        }
      ),
      { numRuns: 50 }
    )
  })

  it("lipschitz() is accurate when the two largest eigenvalues of WWᵀ are close (λ = 1 and 0.99)", () => {
    // W = diag(1, √0.99): WWᵀ = diag(1, 0.99), d = 2, so L = (2/2)·1 = 1. Power iteration from the
    // all-ones vector converges like 0.99ᵏ: 50 iterations leave it about 0.3% low.
    const got = linearLipschitz([1, 0, 0, Math.sqrt(0.99)], 2, 2)
    expect(Math.abs(got - 1)).toBeLessThanOrEqual(1e-3)
  })

  it("lipschitz() is not 0 when the atoms sum to zero (start vector of the power iteration orthogonal to the top eigenvector)", () => {
    // Atoms e₁ and −e₁ (d = 2): WWᵀ = [[1, −1], [−1, 1]] has λmax = 2 with eigenvector (1, −1)/√2,
    // and WWᵀ·(1, 1) = 0, so L = (2/2)·2 = 2.
    const got = linearLipschitz([1, 0, -1, 0], 2, 2)
    expect(got).toBeCloseTo(2, 3)
  })
})
