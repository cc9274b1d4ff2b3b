/**
 * Property tests of the inference invariants, for every inference method where the invariant
 * holds for it, on small random problems: N 2..12 rows, l 2..10 code components, d 3..20 inputs,
 * linear and one-hidden-layer decoders. Energies are recomputed in float64 by
 * test/helpers/problems.ts.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  denseReconstructionTerm as reconstructionTerm,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder
} from "../../src/models/decoders/dense.js"
import { smoothGradient } from "../../src/models/energy.js"
import { fista } from "../../src/models/inference/fista.js"
import type { InferenceMethod, InferenceOptions, InferenceResult } from "../../src/models/inference/method.js"
import { stepSize } from "../../src/models/inference/method.js"
import { inferenceMethods } from "../../src/models/inference/registry.js"
import { nonNegativeShrink } from "../../src/models/terms/sparsity.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import {
  type EnergyWeights,
  exactLinearLipschitz,
  hostEnergy,
  hostLayers,
  libraryEnergy,
  type Problem,
  problemSpec,
  type ProblemSpec,
  withProblem
} from "../helpers/problems.js"
import { configureFastCheck, seeded, toFlat, useTestBackend } from "../helpers/tf.js"
import { between } from "../helpers/between.js"

useTestBackend()
configureFastCheck()

const methods = inferenceMethods.map((m) => [m.name, m] as const)

const RUNS = 30
/**
 * Each property gets a time budget: a failing property shrinks its counterexample by re-running
 * inference many times, and the budget keeps that bounded (the smallest case found so far is
 * reported when it runs out). Runs cut short without a failure still pass.
 */
const budget = { numRuns: RUNS, interruptAfterTimeLimit: 20_000 }
const f32eps = 2 ** -23

/** Run inference on a problem, recording a copy of every iterate and of the live mask. */
interface Trace {
  readonly result: InferenceResult
  readonly codes: Float32Array
  readonly iterates: Float32Array[]
  readonly live: Uint8Array[]
  readonly liveRows: number[]
}

const runTraced = (
  method: InferenceMethod,
  p: Problem,
  z0: tf.Tensor2D,
  options: Omit<InferenceOptions, "onStep">,
  keep = true
): Trace => {
  const term = reconstructionTerm(p.dec, p.x)
  const iterates: Float32Array[] = []
  const live: Uint8Array[] = []
  const liveRows: number[] = []
  try {
    const result = method.infer(term, p.zEnc, z0, libraryEnergy(p.spec.weights), {
      ...options,
      onStep: (info) => {
        expect(info.step).toBe(iterates.length + 1)
        if (keep) {
          iterates.push(Float32Array.from(info.codes))
          live.push(Uint8Array.from(info.live))
        } else {
          iterates.push(new Float32Array(0))
          live.push(new Uint8Array(0))
        }
        liveRows.push(info.liveRows)
      }
    })
    const codes = toFlat(result.codes)
    result.codes.dispose()
    return { result, codes, iterates, live, liveRows }
  } finally {
    term.dispose()
  }
}

/** Energies F(Z_k) in float64 along a run, F(Z_0) first. */
const energiesOf = (p: Problem, trace: Trace): number[] => [
  hostEnergy(p.host, p.z0.dataSync()).total,
  ...trace.iterates.map((z) => hostEnergy(p.host, z).total)
]

/** ∂f/∂z at codes by the library's smoothGradient. */
const gradientAt = (p: Problem, codes: Float32Array): Float32Array =>
  tf.tidy(() => {
    const term = reconstructionTerm(p.dec, p.x)
    try {
      return toFlat(
        smoothGradient(term, tf.tensor2d(codes, [p.spec.n, p.spec.l]), p.zEnc, libraryEnergy(p.spec.weights))
      )
    } finally {
      term.dispose()
    }
  })

interface KktReport {
  /** Worst |∂f/∂z + λ| over entries with z > 0. */
  readonly positive: number
  /** Worst (−λ − ∂f/∂z)⁺ over entries with z = 0. */
  readonly zero: number
  readonly where: string
}

/** KKT residuals for the rows selected by `rows`. */
const kktResiduals = (p: Problem, codes: Float32Array, rows: (i: number) => boolean): KktReport => {
  const g = gradientAt(p, codes)
  const { n, l } = p.spec
  const lambda = p.spec.weights.lambda
  let positive = 0
  let zero = 0
  let where = ""
  for (let i = 0; i < n; i++) {
    if (!rows(i)) continue
    for (let j = 0; j < l; j++) {
      const q = i * l + j
      if (codes[q] > 0) {
        const r = Math.abs(g[q] + lambda)
        if (r > positive) {
          positive = r
          if (r >= zero) where = `z[${i},${j}] = ${codes[q]} > 0 with ∂f/∂z = ${g[q]}, λ = ${lambda}`
        }
      } else {
        const r = Math.max(0, -lambda - g[q])
        if (r > zero) {
          zero = r
          if (r >= positive) where = `z[${i},${j}] = 0 with ∂f/∂z = ${g[q]} < −λ = ${-lambda}`
        }
      }
    }
  }
  return { positive, zero, where }
}

/** Scale of the smooth gradient at a point, to make KKT tolerances relative. */
const gradientScale = (p: Problem, codes: Float32Array): number => {
  const g = gradientAt(p, codes)
  let m = 0
  for (const v of g) m = Math.max(m, Math.abs(v))
  return m + p.spec.weights.lambda
}

const rowNorm = (z: ArrayLike<number>, i: number, l: number): number => {
  let s = 0
  for (let j = 0; j < l; j++) s += z[i * l + j] ** 2
  return Math.sqrt(s)
}

const rowDistance = (a: ArrayLike<number>, b: ArrayLike<number>, i: number, l: number): number => {
  let s = 0
  for (let j = 0; j < l; j++) s += (a[i * l + j] - b[i * l + j]) ** 2
  return Math.sqrt(s)
}

const describeSpec = (s: ProblemSpec): string =>
  `N=${s.n} l=${s.l} d=${s.d} hidden=[${s.hidden}] λ=${s.weights.lambda} β=${s.weights.beta} τ=${s.weights.tau} γ=${s.weights.gamma} seed=${s.seed}`

describe("non-negative soft threshold (the prox of t‖·‖₁ + indicator(z ≥ 0) that inference applies)", () => {
  it("satisfies the optimality conditions for every input and threshold", () => {
    fc.assert(
      fc.property(
        // fc.double alone puts nine values in ten below 1e-3 in magnitude; `between` covers the usual scales evenly.
        fc.array(fc.oneof(between(-1e3, 1e3), between(-1, 1), fc.double({ min: -1e3, max: 1e3, noNaN: true })), {
          minLength: 1,
          maxLength: 40
        }),
        fc.oneof(fc.constant(0), between(0, 100), between(0, 1), fc.double({ min: 0, max: 1e-3, noNaN: true })),
        (values, thresholdRaw) => {
          const threshold = Math.fround(thresholdRaw)
          const padded = Float32Array.from(values)
          // Stored as inference stores it, in float32.
          const out = Float32Array.from(padded, (u) => nonNegativeShrink(u, threshold))
          for (let q = 0; q < padded.length; q++) {
            const uq = padded[q]
            const pq = out[q]
            const slack = 4 * f32eps * (Math.abs(uq) + threshold)
            // Primal feasibility.
            expect(pq).toBeGreaterThanOrEqual(0)
            if (pq > 0) {
              // Stationarity where p > 0: p − u + t = 0.
              expect(Math.abs(pq - uq + threshold)).toBeLessThanOrEqual(slack)
            } else {
              // At p = 0: 0 ∈ −u + t·[−1, 1] + (−∞, 0], i.e. u ≤ t.
              expect(uq - threshold).toBeLessThanOrEqual(slack)
            }
            // And p minimises ½(v − u)² + t·v over v ≥ 0 against a few competitors.
            const phi = (v: number) => 0.5 * (v - uq) ** 2 + threshold * v
            for (const v of [
              0,
              Math.max(0, uq),
              Math.max(0, uq - threshold) * 1.01,
              Math.max(0, uq - threshold) * 0.99,
              Math.abs(uq)
            ]) {
              expect(phi(pq)).toBeLessThanOrEqual(phi(v) + 8 * f32eps * (uq * uq + threshold * Math.abs(uq) + 1e-30))
            }
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe.each(methods.filter(([, m]) => m.monotone))(
  "%s: monotone with β = 0 (linear decoder, convex F)",
  (_, method) => {
    it("with η ≤ 1/L never increases F", () => {
      fc.assert(
        fc.property(
          problemSpec({ decoder: "linear", beta: "zero" }),
          fc.oneof(fc.constant("lipschitz" as const), fc.double({ min: 0.05, max: 1, noNaN: true })),
          fc.constantFrom(0, 1e-4, 1e-2),
          (spec, stepChoice, tol) =>
            withProblem(spec, (p) => {
              const L = exactLinearLipschitz(p.host)
              const step =
                stepChoice === "lipschitz"
                  ? ({ kind: "lipschitz" } as const)
                  : ({ kind: "fixed", eta: stepChoice / L } as const)
              const trace = runTraced(method, p, p.z0, { maxSteps: 80, tol, step })
              const F = energiesOf(p, trace)
              for (let k = 1; k < F.length; k++) {
                const slack = 2e-6 * Math.abs(F[k - 1]) + 1e-9
                if (F[k] > F[k - 1] + slack) {
                  throw new Error(
                    `F rose at step ${k}: ${F[k - 1]} → ${F[k]} (η = ${trace.result.eta}, 1/L = ${1 / L}; ${describeSpec(spec)})`
                  )
                }
              }
            })
        ),
        budget
      )
    })
  }
)

describe("fista: rate with β = 0 (linear decoder, convex F)", () => {
  it("with η = 1/L satisfies F(Z_k) − F* ≤ 2L‖Z₀ − Z*‖²/(k+1)²", () => {
    fc.assert(
      fc.property(problemSpec({ decoder: "linear", beta: "zero" }), (spec) =>
        withProblem(spec, (p) => {
          // L computed independently (Jacobi eigenvalues in float64): the bound needs η ≤ 1/L exactly.
          const L = exactLinearLipschitz(p.host)
          const trace = runTraced(fista, p, p.z0, { maxSteps: 1500, tol: 0, step: { kind: "fixed", eta: 1 / L } })
          const F = energiesOf(p, trace)
          const Fstar = Math.min(...F)
          const zStar = trace.codes
          const z0 = p.z0.dataSync()
          let r2 = 0
          for (let q = 0; q < zStar.length; q++) r2 += (z0[q] - zStar[q]) ** 2
          for (let k = 1; k < F.length; k++) {
            const bound = (2 * L * r2) / (k + 1) ** 2
            const slack = 2e-6 * Math.abs(Fstar) + 1e-9
            if (F[k] - Fstar > bound + slack) {
              throw new Error(`step ${k}: F − F* = ${F[k] - Fstar} > bound ${bound} (${describeSpec(spec)})`)
            }
          }
        })
      ),
      budget
    )
  })
})

/**
 * Runs inference long with a tiny tolerance; returns the codes and which rows converged (froze
 * on the tolerance rather than running out of steps).
 */
const converge = (
  method: InferenceMethod,
  p: Problem,
  maxSteps: number
): { codes: Float32Array; converged: boolean[]; eta: number; trace: Trace } => {
  const trace = runTraced(method, p, p.z0, { maxSteps, tol: 1e-7, step: { kind: "lipschitz" } }, false)
  const converged = Array.from(
    trace.result.stepsPerRow,
    (s) => s < trace.result.iterations || trace.result.iterations < maxSteps
  )
  return { codes: trace.codes, converged, eta: trace.result.eta, trace }
}

/**
 * KKT tolerance: a fraction of the gradient's scale (λ + max|∂f|), 1e-3 for the convex case
 * (observed residuals ≤ 3e-4 of the scale after convergence to tol 1e-7) and 1e-2 where F is not
 * convex (hidden layer, variance hinge) and the iterates settle more slowly; plus a float32 floor
 * of 1e-5·(1 + max z)/η, the size of the residual that rounding and a relative change of 1e-7
 * leave when the gradient scale is itself tiny (inputs the dictionary fits exactly).
 * A prox threshold off by 10% leaves a residual of 0.1λ, several times either.
 */
const kktTolerance = (p: Problem, codes: Float32Array, eta: number): number => {
  const relative = p.spec.hidden.length === 0 && p.spec.weights.beta === 0 ? 1e-3 : 1e-2
  let zMax = 0
  for (const v of codes) zMax = Math.max(zMax, v)
  return relative * gradientScale(p, codes) + (1e-5 * (1 + zMax)) / eta
}

const checkKkt = (p: Problem, codes: Float32Array, eta: number, rows: (i: number) => boolean): void => {
  const tolerance = kktTolerance(p, codes, eta)
  const r = kktResiduals(p, codes, rows)
  if (Math.max(r.positive, r.zero) > tolerance) {
    throw new Error(`KKT violated: ${r.where} (tolerance ${tolerance.toExponential(2)}; ${describeSpec(p.spec)})`)
  }
}

describe.each(methods)("%s: KKT conditions at convergence", (_, method) => {
  it("hold with β = 0 for the linear decoder (all rows) and the hidden-layer decoder (rows that converged)", () => {
    fc.assert(
      fc.property(problemSpec({ decoder: "either", beta: "zero" }), (spec) =>
        withProblem(spec, (p) => {
          const linear = spec.hidden.length === 0
          const { codes, converged, eta } = converge(method, p, linear ? 3000 : 1000)
          // Accelerated methods reach tol 1e-7 on these within 3000 steps; ISTA, at its O(1/k) rate,
          // need not, so only its converged rows are held to KKT.
          if (linear && !method.monotone) expect(converged.every(Boolean), "a linear problem must converge").toBe(true)
          checkKkt(p, codes, eta, (i) => converged[i])
        })
      ),
      budget
    )
  })

  it("hold with β > 0 (variance hinge) for the rows that converged", () => {
    fc.assert(
      fc.property(problemSpec({ decoder: "either", beta: "positive" }), (spec) =>
        withProblem(spec, (p) => {
          const { codes, converged, eta, trace } = converge(method, p, 1000)
          fc.pre(converged.every(Boolean))
          // The hinge couples the rows: a row frozen early (rows freeze for good) was at a
          // stationary point of the batch statistics of its time, which the rows still moving then
          // changed. The rows that froze at the last step met the final statistics: they must
          // satisfy KKT. (The early-frozen case is pinned down by a hand-made problem below.)
          const last = trace.result.iterations
          checkKkt(p, codes, eta, (i) => trace.result.stepsPerRow[i] === last)
        })
      ),
      { ...budget, maxSkipsPerRun: 10 }
    )
  })
})

/** A hand-made problem: decoder weights W (l×d), inputs x (N×d), warm start z0 (N×l). */
const handMade = (W: number[][], x: number[][], z0: number[][], weights: EnergyWeights): Problem => {
  const l = W.length
  const d = W[0].length
  const n = x.length
  const dec = makeDecoder(seeded(1), l, [], d, tfjsLinalg)
  dec.layers[0].W.assign(tf.tensor2d(W))
  const xt = tf.tensor2d(x)
  const zEnc = tf.tensor2d(z0)
  const z0t = tf.tensor2d(z0)
  return {
    spec: { seed: 0, n, l, d, hidden: [], weights },
    dec,
    x: xt,
    zEnc,
    z0: z0t,
    host: {
      layers: hostLayers(dec),
      x: Float64Array.from(x.flat()),
      zEnc: Float64Array.from(z0.flat()),
      n,
      l,
      d,
      weights
    },
    dispose: () => {
      disposeDecoder(dec)
      xt.dispose()
      zEnc.dispose()
      z0t.dispose()
    }
  }
}

describe("fista: KKT at convergence, the smallest counterexamples found (early stopping)", () => {
  it("a row that momentum carries to exactly zero is not frozen there (β = 0, N = l = d = 1)", () => {
    // F(z) = (0.5 − z)² + 0.1·z on z ≥ 0: z* = 0.45, F* = 0.0475. FISTA with η = 0.05 ≤ 1/L = 0.5
    // from z₀ = 10 overshoots to 0 at step 13 and the momentum keeps it there at step 14, so the
    // row "did not move" and counts as converged at z = 0, where F = 0.25 and ∂f/∂z = −1 < −λ.
    const p = handMade([[1]], [[0.5]], [[10]], { lambda: 0.1, beta: 0, tau: 0.5, gamma: 0 })
    try {
      const trace = runTraced(fista, p, p.z0, { maxSteps: 200, tol: 1e-6, step: { kind: "fixed", eta: 0.05 } })
      checkKkt(p, trace.codes, trace.result.eta, () => true)
      expect(trace.codes[0]).toBeCloseTo(0.45, 4)
    } finally {
      p.dispose()
    }
  })

  it("with β > 0 a row frozen at zero in step 1 stays frozen even once the hinge lets go: the freezing rule, not an optimum (N = 2, l = d = 1)", () => {
    // Row 1 starts at 0; at step 1 the hinge (σ = 0.07 ≪ τ) pushes it down harder than the
    // reconstruction pulls it up, so it does not move and is frozen for good. Row 0 then grows
    // to ≈ 0.95, the hinge switches off (σ > τ), and row 1 is left at 0 with ∂f/∂z = −2 < −λ.
    // Rows freeze for good, and with β > 0 the rows are coupled, so early stopping can
    // leave a frozen row where KKT fails. This pins the behaviour down, so a change to it is seen.
    const p = handMade([[1]], [[1], [1]], [[0.1], [0]], { lambda: 0.1, beta: 10, tau: 0.5, gamma: 0 })
    try {
      const trace = runTraced(fista, p, p.z0, { maxSteps: 500, tol: 1e-6, step: { kind: "lipschitz" } })
      expect(trace.codes[1]).toBe(0)
      expect(trace.codes[0]).toBeGreaterThan(0.5)
      expect(() => checkKkt(p, trace.codes, trace.result.eta, () => true)).toThrow(/KKT violated/)
    } finally {
      p.dispose()
    }
  })
})

describe.each(methods)("%s: starting at the optimum", (_, method) => {
  it("inference stops after one step and returns the optimum, for β = 0 and β > 0, linear and hidden-layer decoders", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          problemSpec({ decoder: "either", beta: "zero" }),
          problemSpec({ decoder: "either", beta: "positive" })
        ),
        (spec) =>
          withProblem(spec, (p) => {
            const { n, l } = spec
            const long = runTraced(
              method,
              p,
              p.z0,
              { maxSteps: spec.hidden.length === 0 ? 2000 : 800, tol: 1e-7, step: { kind: "lipschitz" } },
              false
            )
            const zStar = long.codes
            // Only a fixed point of the prox-gradient map (to 1e-5 relative per row) is an optimum here.
            const eta = long.result.eta
            const g = gradientAt(p, zStar)
            let isFixedPoint = true
            for (let i = 0; i < n && isFixedPoint; i++) {
              let change = 0
              for (let j = 0; j < l; j++) {
                const q = i * l + j
                change += (Math.max(0, zStar[q] - eta * g[q] - eta * spec.weights.lambda) - zStar[q]) ** 2
              }
              isFixedPoint = Math.sqrt(change) <= 1e-5 * rowNorm(zStar, i, l)
            }
            fc.pre(isFixedPoint)
            const start = tf.tensor2d(zStar, [n, l])
            try {
              const tol = 1e-3
              const again = runTraced(method, p, start, { maxSteps: 200, tol, step: { kind: "lipschitz" } })
              expect(again.result.iterations).toBe(1)
              expect(Array.from(again.result.stepsPerRow)).toEqual(new Array(n).fill(1))
              expect(again.result.meanSteps).toBe(1)
              for (let i = 0; i < n; i++) {
                expect(rowDistance(again.codes, zStar, i, l)).toBeLessThanOrEqual(tol * rowNorm(zStar, i, l))
              }
            } finally {
              start.dispose()
            }
          })
      ),
      { ...budget, maxSkipsPerRun: 10 }
    )
  })
})

/**
 * How far a method's freezing rule lets a row's relative change exceed tol after the first step:
 * fista-adaptive-scaled reads the change per unit of the row's step where it is longer than η,
 * and that step starts at η and stays at most 8η, so its threshold lies within [tol, 8·tol].
 */
const toleranceBand = (method: InferenceMethod) =>
  method.name === "fista-adaptive-scaled" ? { low: 1, high: 8 } : { low: 1, high: 1 }

describe.each(methods)("%s: iterates non-negative, frozen rows frozen, early stopping as specified", (_, method) => {
  it("every iterate is ≥ 0, a frozen row never changes again, and rows freeze by the tolerance rule", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          problemSpec({ decoder: "either", beta: "zero" }),
          problemSpec({ decoder: "either", beta: "positive" })
        ),
        fc.constantFrom(1e-1, 1e-2, 1e-3, 1e-4),
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        fc.boolean(),
        (spec, tol, etaFraction, signedStart) =>
          withProblem(spec, (p) => {
            const { n, l } = spec
            const term = reconstructionTerm(p.dec, p.x)
            const eta = etaFraction * stepSize({ kind: "lipschitz" }, term, n, l, libraryEnergy(spec.weights))
            term.dispose()
            const rng = seeded(spec.seed ^ 0x5bd1e995)
            const startValues = signedStart
              ? Float32Array.from({ length: n * l }, () => 2 * rng.next() - 1)
              : Float32Array.from(p.z0.dataSync())
            const start = tf.tensor2d(startValues, [n, l])
            try {
              const trace = runTraced(method, p, start, { maxSteps: 60, tol, step: { kind: "fixed", eta } })
              const { result, iterates, live } = trace
              expect(result.eta).toBe(eta)
              expect(iterates.length).toBe(result.iterations)
              const frozenAt = new Array<number>(n).fill(0)
              let previous: Float32Array = startValues
              iterates.forEach((z, k) => {
                for (let q = 0; q < z.length; q++) {
                  if (!(z[q] >= 0)) throw new Error(`step ${k + 1}: z[${q}] = ${z[q]} (${describeSpec(spec)})`)
                }
                let liveCount = 0
                for (let i = 0; i < n; i++) {
                  if (frozenAt[i] > 0) {
                    // Frozen earlier: stays frozen, bit for bit.
                    expect(live[k][i], `row ${i} came back to life`).toBe(0)
                    for (let j = 0; j < l; j++) {
                      if (!Object.is(z[i * l + j], iterates[frozenAt[i] - 1][i * l + j])) {
                        throw new Error(
                          `row ${i} frozen at step ${frozenAt[i]} changed at step ${k + 1} (${describeSpec(spec)})`
                        )
                      }
                    }
                    continue
                  }
                  // The freezing rule: frozen when ‖z_old − z‖ < tol‖z_old‖, or when the row did not move.
                  const band = k === 0 ? { low: 1, high: 1 } : toleranceBand(method)
                  const change = rowDistance(z, previous, i, l)
                  const scale = rowNorm(previous, i, l)
                  const ratio = scale > 0 ? change / scale : change === 0 ? 0 : Infinity
                  if (live[k][i] === 0) {
                    frozenAt[i] = k + 1
                    if (ratio > tol * band.high * 1.001)
                      throw new Error(`row ${i} froze at step ${k + 1} with relative change ${ratio} ≥ tol ${tol}`)
                  } else {
                    liveCount++
                    // A row that moved by less than tol must freeze. Not asserted where the rule is
                    // ambiguous: a row that did not move at all (momentum may carry it on) and β > 0,
                    // where one row's convergence says little while the others still move.
                    if (spec.weights.beta === 0 && change > 0 && ratio < tol * band.low * 0.999) {
                      throw new Error(`row ${i} still live at step ${k + 1} with relative change ${ratio} < tol ${tol}`)
                    }
                  }
                }
                expect(trace.liveRows[k]).toBe(liveCount)
                previous = z
              })
              // The result is the last iterate; stepsPerRow counts the steps each row took part in.
              if (iterates.length > 0) expect(trace.codes).toEqual(iterates[iterates.length - 1])
              for (let i = 0; i < n; i++)
                expect(result.stepsPerRow[i]).toBe(frozenAt[i] > 0 ? frozenAt[i] : result.iterations)
              expect(result.iterations).toBe(Math.max(...result.stepsPerRow))
              expect(result.meanSteps).toBeCloseTo(result.stepsPerRow.reduce((a, b) => a + b, 0) / n, 10)
              const allFrozen = frozenAt.every((s) => s > 0)
              if (!allFrozen) expect(result.iterations).toBe(60)
            } finally {
              start.dispose()
            }
          })
      ),
      { ...budget, numRuns: 50 }
    )
  })
})

/** Rows of a row-major matrix in a new order: out row i = in row perm[i]. */
const permuteRows = (values: ArrayLike<number>, perm: ReadonlyArray<number>, cols: number): Float32Array => {
  const out = new Float32Array(perm.length * cols)
  perm.forEach((src, i) => {
    for (let j = 0; j < cols; j++) out[i * cols + j] = values[src * cols + j]
  })
  return out
}

/** The same problem with the rows of X, zEnc and Z₀ taken in the order perm (possibly a subset). */
const subProblem = (p: Problem, rows: ReadonlyArray<number>): Problem => {
  const { l, d } = p.spec
  const k = rows.length
  const x = tf.tensor2d(permuteRows(p.x.dataSync(), rows, d), [k, d])
  const zEnc = tf.tensor2d(permuteRows(p.zEnc.dataSync(), rows, l), [k, l])
  const z0 = tf.tensor2d(permuteRows(p.z0.dataSync(), rows, l), [k, l])
  return {
    spec: { ...p.spec, n: k },
    dec: p.dec,
    x,
    zEnc,
    z0,
    host: { ...p.host, n: k, x: Float64Array.from(x.dataSync()), zEnc: Float64Array.from(zEnc.dataSync()) },
    dispose: () => {
      x.dispose()
      zEnc.dispose()
      z0.dispose()
    }
  }
}

describe.each(methods)("%s: coupling between rows", (_, method) => {
  it("inference is permutation-equivariant over rows with β > 0", () => {
    fc.assert(
      fc.property(problemSpec({ decoder: "either", beta: "positive" }), fc.constantFrom(1e-3, 1e-5), (spec, tol) =>
        withProblem(spec, (p) => {
          const { n, l } = spec
          const perm = seeded(spec.seed ^ 0x1234567).permutation(n)
          const q = subProblem(p, perm)
          try {
            const options = { maxSteps: 100, tol, step: { kind: "lipschitz" } } as const
            const a = runTraced(method, p, p.z0, options, false)
            const b = runTraced(method, q, q.z0, options, false)
            const expected = permuteRows(a.codes, perm, l)
            let worst = 0
            let scale = 0
            for (let v = 0; v < expected.length; v++) {
              worst = Math.max(worst, Math.abs(expected[v] - b.codes[v]))
              scale = Math.max(scale, Math.abs(expected[v]))
            }
            if (worst > 1e-4 * (1 + scale)) {
              throw new Error(
                `permuted codes differ by ${worst} (max |z| ${scale}; ${describeSpec(spec)}; perm ${perm})`
              )
            }
            expect(b.result.iterations).toBeGreaterThan(0)
          } finally {
            q.dispose()
          }
        })
      ),
      budget
    )
  })

  it("with β = 0 a row's code does not depend on the other rows of its batch", () => {
    fc.assert(
      fc.property(problemSpec({ decoder: "either", beta: "zero" }), fc.constantFrom(1e-3, 1e-5), (spec, tol) =>
        withProblem(spec, (p) => {
          const { n, l } = spec
          const rng = seeded(spec.seed ^ 0x2545f491)
          // A random non-empty subset of the rows, in a random order.
          const rows = rng.permutation(n).slice(0, 1 + rng.int(n))
          const q = subProblem(p, rows)
          try {
            const options = { maxSteps: 100, tol, step: { kind: "lipschitz" } } as const
            const whole = runTraced(method, p, p.z0, options, false)
            const part = runTraced(method, q, q.z0, options, false)
            rows.forEach((src, i) => {
              const a = Array.from({ length: l }, (_, j) => whole.codes[src * l + j])
              const b = Array.from({ length: l }, (_, j) => part.codes[i * l + j])
              const diff = Math.max(...a.map((v, j) => Math.abs(v - b[j])))
              const scale = Math.max(1, ...a.map(Math.abs))
              if (diff > 1e-5 * scale) {
                throw new Error(
                  `row ${src} differs by ${diff} alone vs in its batch (${describeSpec(spec)}; subset ${rows})`
                )
              }
              expect(part.result.stepsPerRow[i]).toBe(whole.result.stepsPerRow[src])
            })
          } finally {
            q.dispose()
          }
        })
      ),
      budget
    )
  })
})
