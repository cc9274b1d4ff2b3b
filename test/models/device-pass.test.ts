/**
 * Inference's pass on the device (device-pass.ts, TensorFlow.js operations on the backend's own
 * tensors) against the host pass (the WebAssembly kernel, bit-identical to the JavaScript
 * reference), on the cpu backend: one step from random states; whole runs on random batches in
 * lockstep with the host; whole runs of every inference method on a 40-row batch with and without
 * the variance hinge and the encoder distance; tensor counts; and where the choice between the
 * passes comes from.
 *
 * The device sums in float32 where the host sums in float64, so iterates agree to float32
 * rounding, not bit for bit. The tolerance on a whole run's codes is a rounding budget per step: a
 * step rounds each entry through the gradient's l-term product and about 8 elementwise operations,
 * each off by at most 2⁻²⁴ of the codes' scale, and FISTA's extrapolation carries the error into
 * the next step at most doubled: 2·(l + 8)·2⁻²⁴·max|z| per step, summed over the steps taken.
 * (Measured on random batches: at most 25 of those 2⁻²⁴·max|z| units per step.) One step from the
 * same state is held to 64·2⁻²⁴ of the scale of what it combines (y, z and η·g).
 *
 * Left to run apart on random batches, the two passes now and then freeze a row a step apart, when
 * its convergence test lands within the drift of rounding of its threshold; hence the lockstep runs
 * there, and whole free runs only on the fixed batch.
 */
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { denseReconstructionTerm } from "../../src/models/decoders/dense.js"
import type { Energy } from "../../src/models/energy.js"
import { type DeviceState, deviceStep, stateTensors } from "../../src/models/inference/device-pass.js"
import { fusedStep, javascriptStep, type StepParameters } from "../../src/models/inference/fused-step.js"
import { type InferenceMethod, type InferenceOptions, stepSize } from "../../src/models/inference/method.js"
import type { InferencePass } from "../../src/models/inference/pass.js"
import { inferenceMethods } from "../../src/models/inference/registry.js"
import { type Linalg, tfjsLinalg } from "../../src/models/linalg.js"
import { affineToPixels } from "../../src/models/metrics.js"
import { disposeModel, makeModel, trainStep } from "../../src/models/model.js"
import { variants } from "../../src/models/variants.js"
import { selectBackend } from "../../src/pipeline/backend/backend.js"
import {
  type EnergyWeights,
  hostEnergy,
  libraryEnergy,
  type Problem,
  problemSpec,
  withProblem
} from "../helpers/problems.js"
import { configureFastCheck, gaussian, seeded } from "../helpers/tf.js"

configureFastCheck()

beforeAll(async () => {
  expect(await tf.setBackend("cpu")).toBe(true)
  await tf.ready()
})

const ULP = 2 ** -24

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let q = 0; q < a.length; q++) m = Math.max(m, Math.abs(a[q]))
  return m
}

/** Every entry of `actual` within `tolerance` of `expected`, or which one is not. */
const expectWithin = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number) => {
  expect(actual.length, `${what}: length`).toBe(expected.length)
  for (let q = 0; q < expected.length; q++) {
    const gap = Math.abs(actual[q] - expected[q])
    if (!(gap <= tolerance))
      throw new Error(`${what}[${q}]: ${actual[q]} on the device, ${expected[q]} on the host (tolerance ${tolerance})`)
  }
}

describe("one step of the device pass from a random state", () => {
  interface StepCase {
    readonly n: number
    readonly l: number
    readonly seed: number
    readonly parameters: StepParameters
    readonly frozen: ReadonlyArray<boolean>
    /** Rows with y = z = 0 and a gradient that keeps them there: they freeze by the unchanged-row rule. */
    readonly atRest: ReadonlyArray<boolean>
  }

  const stepCase: fc.Arbitrary<StepCase> = fc
    .record({
      n: fc.integer({ min: 1, max: 9 }),
      l: fc.integer({ min: 1, max: 12 }),
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      eta: fc.double({ min: 1e-3, max: 1, noNaN: true }),
      lambda: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
      tol: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 2, noNaN: true })),
      extrapolation: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
      restarting: fc.boolean(),
      adaptive: fc.oneof(
        fc.constant(null),
        fc.record({
          growth: fc.double({ min: 1, max: 2, noNaN: true }),
          etaMax: fc.double({ min: 1e-3, max: 4, noNaN: true }),
          etaMin: fc.double({ min: 0, max: 0.5, noNaN: true }),
          stepTolerance: fc.boolean()
        })
      ),
      frozen: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
      atRest: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 })
    })
    .map(({ n, l, seed, eta, lambda, tol, extrapolation, restarting, adaptive, frozen, atRest }) => ({
      n,
      l,
      seed,
      parameters: {
        eta,
        threshold: eta * lambda,
        tol2: tol * tol,
        extrapolation,
        restarting,
        adaptive: adaptive === null ? null : { lambda, ...adaptive }
      },
      frozen: frozen.slice(0, n),
      atRest: atRest.slice(0, n)
    }))

  /** The state the seed draws, as the host pass's arrays (every value a float32). */
  const drawState = (c: StepCase) => {
    const { n, l } = c
    const rng = seeded(c.seed)
    const nonNegative = (v: number) => (rng.next() < 0.3 ? 0 : Math.abs(v))
    const z = gaussian(rng, n, l).map(nonNegative)
    const y = gaussian(rng, n, l).map(nonNegative)
    const g = gaussian(rng, n, l)
    for (let i = 0; i < n; i++) {
      if (!c.atRest[i]) continue
      for (let j = 0; j < l; j++) {
        z[i * l + j] = 0
        y[i * l + j] = 0
        g[i * l + j] = Math.abs(g[i * l + j]) + 0.1
      }
    }
    return {
      z,
      y,
      g,
      rowMomentum: Float32Array.from({ length: n }, () => 1 + 3 * rng.next()),
      rowEta: Float32Array.from({ length: n }, () => 2 * rng.next()),
      steps: Int32Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : 1)),
      previousGradient: gaussian(rng, n, l),
      previousY: gaussian(rng, n, l).map(nonNegative)
    }
  }

  it("takes the host pass's step: the same rows freeze and restart, iterates within float32 rounding", () => {
    fc.assert(
      fc.property(stepCase, (c) => {
        const { n, l, parameters } = c
        const s = drawState(c)
        // The host: javascriptStep on the live rows, the gradient whole in g (no affine coefficients).
        const fused = fusedStep(n, l, "javascript")
        const { pass } = fused
        pass.z.set(s.z)
        pass.y.set(s.y)
        pass.rowMomentum.set(s.rowMomentum)
        pass.rowEta.set(s.rowEta)
        pass.stepsPerRow.set(s.steps)
        pass.previousGradient.set(s.previousGradient)
        pass.previousY.set(s.previousY)
        const liveRows = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => !c.frozen[i]))
        for (let i = 0; i < n; i++) pass.live[i] = c.frozen[i] ? 0 : 1
        const gLive = new Float32Array(liveRows.length * l)
        liveRows.forEach((i, p) => gLive.set(s.g.subarray(i * l, (i + 1) * l), p * l))
        javascriptStep(pass, liveRows, gLive, parameters, new Float64Array(l))

        // The device, from the same values.
        const adaptive = parameters.adaptive
        const state: DeviceState = {
          y: tf.tensor2d(s.y, [n, l]),
          z: tf.tensor2d(s.z, [n, l]),
          live: tf.tensor2d(
            c.frozen.map((f) => !f),
            [n, 1],
            "bool"
          ),
          steps: tf.tensor2d(s.steps, [n, 1], "int32"),
          rowMomentum: parameters.restarting ? tf.tensor2d(s.rowMomentum, [n, 1]) : null,
          rowEta: adaptive === null ? null : tf.tensor2d(s.rowEta, [n, 1]),
          previousGradient: adaptive === null ? null : tf.tensor2d(s.previousGradient, [n, l]),
          previousY: adaptive === null ? null : tf.tensor2d(s.previousY, [n, l])
        }
        const grad = tf.tensor2d(s.g, [n, l])
        const { next, liveCount } = deviceStep(state, grad, {
          eta: parameters.eta,
          threshold: parameters.threshold,
          lambda: adaptive?.lambda ?? 0,
          tol2: parameters.tol2,
          extrapolation: parameters.extrapolation,
          adaptive
        })
        try {
          expect(Array.from(next.live.dataSync(), Number), "live rows").toStrictEqual(Array.from(pass.live))
          expect(liveCount.dataSync()[0]).toBe(pass.live.reduce((a, b) => a + b, 0))
          expect(Array.from(next.steps.dataSync()), "steps per row").toStrictEqual(Array.from(pass.stepsPerRow))
          // One step rounds a handful of times an entry of y, η·g or the threshold.
          const scale = maxAbs(s.y) + maxAbs(s.z) + 4 * maxAbs(s.g) + 1
          const tolerance = 64 * ULP * scale
          expectWithin("z", next.z.dataSync(), pass.z, tolerance)
          expectWithin("y", next.y.dataSync(), pass.y, tolerance)
          if (next.rowMomentum !== null) expectWithin("tₖ", next.rowMomentum.dataSync(), pass.rowMomentum, 64 * ULP * 4)
          if (next.rowEta !== null) expectWithin("η", next.rowEta.dataSync(), pass.rowEta, 64 * ULP * 4)
          if (next.previousGradient !== null && next.previousY !== null) {
            expectWithin("previous gradient", next.previousGradient.dataSync(), pass.previousGradient, 0)
            expectWithin("previous y", next.previousY.dataSync(), pass.previousY, 0)
          }
          // Frozen rows are left exactly as they were.
          for (let i = 0; i < n; i++) {
            if (!c.frozen[i]) continue
            const row = (a: ArrayLike<number>) => Array.from(a).slice(i * l, (i + 1) * l)
            expect(row(next.z.dataSync()), `frozen row ${i}`).toStrictEqual(row(s.z))
            expect(row(next.y.dataSync()), `frozen row ${i}`).toStrictEqual(row(s.y))
          }
        } finally {
          fused.release()
          tf.dispose([...stateTensors(state), ...stateTensors(next), grad, liveCount])
        }
      }),
      { numRuns: 300 }
    )
  })
})

/** A whole inference run: codes, step counts and, step by step, which rows were live and the codes. */
const infer = (method: InferenceMethod, p: Problem, energy: Energy, pass: InferencePass, options: InferenceOptions) => {
  const term = denseReconstructionTerm(p.dec, p.x)
  const live: number[][] = []
  const iterates: Float32Array[] = []
  try {
    const result = method.infer(term, p.zEnc, p.z0, energy, {
      ...options,
      fusedPass: pass,
      onStep: (info) => {
        live.push(Array.from(info.live))
        iterates.push(Float32Array.from(info.codes))
      }
    })
    const codes = Float32Array.from(result.codes.dataSync() as Float32Array)
    result.codes.dispose()
    return { codes, steps: Array.from(result.stepsPerRow), iterations: result.iterations, live, iterates }
  } finally {
    term.dispose()
  }
}

/** A row frozen at step k on the device keeps that step's value, bit for bit, to the end. */
const expectFrozenRowsKept = (run: ReturnType<typeof infer>, n: number, l: number) => {
  for (let i = 0; i < n; i++) {
    const frozenAt = run.live.findIndex((flags) => flags[i] === 0)
    if (frozenAt < 0) continue
    const row = (z: Float32Array) => Array.from(z.subarray(i * l, (i + 1) * l))
    for (let k = frozenAt; k < run.iterates.length; k++)
      expect(row(run.iterates[k]), `row ${i} frozen at step ${frozenAt + 1}, at step ${k + 1}`).toStrictEqual(
        row(run.iterates[frozenAt])
      )
    expect(row(run.codes)).toStrictEqual(row(run.iterates[frozenAt]))
  }
}

/** The device run against the host's: same steps, same live rows at every step, codes within the budget. */
const expectSameRun = (method: InferenceMethod, p: Problem, weights: EnergyWeights, options: InferenceOptions) => {
  const energy = libraryEnergy(weights)
  const host = infer(method, p, energy, "wasm-simd", options)
  const device = infer(method, p, energy, "device", options)
  const { n, l } = p.spec
  expectFrozenRowsKept(device, n, l)
  expect(device.steps, "steps per row").toStrictEqual(host.steps)
  expect(device.iterations).toBe(host.iterations)
  expect(device.live, "rows live after each step").toStrictEqual(host.live)
  const tolerance = 2 * (l + 8) * ULP * maxAbs(host.codes) * Math.max(host.iterations, 1)
  expectWithin(`${method.name} codes`, device.codes, host.codes, tolerance)
  return host
}

/**
 * fista-adaptive's step test sits on its threshold by design: a row whose step was too long takes
 * η = 1/L̂, so on its next step η·L̂ is 1 up to how L̂ moved, and rounding decides η·L̂ > 1. Its runs
 * part ways step by step (the host pass's own runs do too, between the cpu and wasm backends, whose
 * products round differently: 40.0 and 38.3 mean steps on the β > 0 linear batch here), and the one-
 * step test above is what holds its decisions to the host's. Where F is convex (β = 0, a linear
 * decoder) both runs must end at its one minimiser; elsewhere the hinge and the ReLU make F
 * non-convex, runs that parted may settle at nearby stationary points, and they must end close.
 */
const expectSameEnd = (method: InferenceMethod, p: Problem, weights: EnergyWeights, options: InferenceOptions) => {
  const energy = libraryEnergy(weights)
  const host = infer(method, p, energy, "wasm-simd", options)
  const device = infer(method, p, energy, "device", options)
  expectFrozenRowsKept(device, p.spec.n, p.spec.l)
  const convex = weights.beta === 0 && p.spec.hidden.length === 0
  const F = hostEnergy(p.host, host.codes).total
  expect(Math.abs(hostEnergy(p.host, device.codes).total - F)).toBeLessThanOrEqual((convex ? 1e-6 : 1e-2) * F)
  const mean = (steps: number[]) => steps.reduce((a, b) => a + b, 0) / steps.length
  expect(Math.abs(mean(device.steps) - mean(host.steps))).toBeLessThanOrEqual((convex ? 0.1 : 0.2) * mean(host.steps))
  return host
}

/** Methods whose step counts rounding decides (see expectSameEnd). */
const roundingDecided = new Set(["fista-adaptive", "fista-adaptive-scaled", "fista-adaptive-wide"])

const energies: ReadonlyArray<readonly [string, EnergyWeights]> = [
  ["λ alone", { lambda: 0.05, beta: 0, tau: 1, gamma: 0 }],
  ["with the variance hinge", { lambda: 0.05, beta: 2, tau: 1, gamma: 0 }],
  ["with the encoder distance", { lambda: 0.05, beta: 0, tau: 1, gamma: 0.5 }],
  ["with both", { lambda: 0.05, beta: 2, tau: 1, gamma: 0.5 }]
]

describe.each(inferenceMethods.map((m) => [m.name, m] as const))("%s on the device", (_, method) => {
  const what = roundingDecided.has(method.name) ? "ends where the host pass ends" : "takes the host pass's steps"
  it.each(energies)(`${what} on a 40-row batch, linear and hidden-layer decoders, %s`, (_, weights) => {
    for (const hidden of [[], [24]]) {
      const spec = { seed: 11, n: 40, l: 16, d: 30, hidden, weights }
      withProblem(spec, (p) => {
        const check = roundingDecided.has(method.name) ? expectSameEnd : expectSameRun
        const host = check(method, p, weights, { maxSteps: 200, tol: 1e-4, step: { kind: "lipschitz" } })
        expect(host.iterations).toBeGreaterThan(5)
      })
    }
  })
})

/**
 * Whole runs on random batches, in lockstep: each step the host pass and the device pass start from
 * the host's state and take the same gradient (the tensor gradients the device pass uses), and the
 * run goes on from the host's result. Left to run apart, the two trajectories drift by rounding
 * until some row's test lands on the other side of its threshold (on random batches that happens,
 * now and then, to the convergence test itself); from one state each decision must agree unless
 * the host's own value is within one step's rounding of its threshold (a relative 10⁻³), and the
 * iterates within one step's rounding.
 */
type Kind = "none" | "shared" | "restarting" | "adaptive"

const lockstep = (kind: Kind, p: Problem, maxSteps: number, tol: number) => {
  const { n, l } = p.spec
  const energy = libraryEnergy(p.spec.weights)
  const term = denseReconstructionTerm(p.dec, p.x)
  const fused = fusedStep(n, l, "javascript")
  const { pass } = fused
  try {
    const eta = stepSize({ kind: "lipschitz" }, term, n, l, energy)
    const adaptive =
      kind === "adaptive"
        ? { lambda: energy.lambda, growth: 1.25, etaMax: 4 * eta, etaMin: eta / 4, stepTolerance: false }
        : null
    const restarting = kind === "restarting" || kind === "adaptive"
    pass.z.set(p.z0.dataSync() as Float32Array)
    pass.y.set(pass.z)
    pass.live.fill(1)
    pass.rowMomentum.fill(1)
    pass.rowEta.fill(eta)
    const tol2 = tol * tol
    let t = 1
    let decisions = 0
    for (let k = 0; k < maxSteps && pass.live.includes(1); k++) {
      const tNext = kind === "shared" ? (1 + Math.sqrt(1 + 4 * t * t)) / 2 : 1
      const extrapolation = kind === "shared" ? (t - 1) / tNext : 0
      t = tNext
      const before = {
        y: Float32Array.from(pass.y),
        z: Float32Array.from(pass.z),
        live: Array.from(pass.live, (v) => v === 1),
        steps: Int32Array.from(pass.stepsPerRow),
        rowMomentum: Float32Array.from(pass.rowMomentum),
        rowEta: Float32Array.from(pass.rowEta),
        previousGradient: Float32Array.from(pass.previousGradient),
        previousY: Float32Array.from(pass.previousY)
      }
      // Keep the host's float64 per-row values at float32, as the device holds them.
      pass.rowMomentum.set(before.rowMomentum)
      pass.rowEta.set(before.rowEta)
      const g = tf.tidy(() => {
        const y = tf.tensor2d(before.y, [n, l])
        let sum = term.gradient(y)
        for (const codeTerm of energy.terms) sum = tf.add(sum, codeTerm.gradient(y, p.zEnc)) as tf.Tensor2D
        return Float32Array.from(sum.dataSync() as Float32Array)
      })
      const liveRows = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => before.live[i]))
      const gLive = new Float32Array(liveRows.length * l)
      liveRows.forEach((i, q) => gLive.set(g.subarray(i * l, (i + 1) * l), q * l))
      const parameters: StepParameters = {
        eta,
        threshold: eta * energy.lambda,
        tol2,
        extrapolation,
        restarting,
        adaptive
      }
      javascriptStep(pass, liveRows, gLive, parameters, new Float64Array(l))

      const state: DeviceState = {
        y: tf.tensor2d(before.y, [n, l]),
        z: tf.tensor2d(before.z, [n, l]),
        live: tf.tensor2d(before.live, [n, 1], "bool"),
        steps: tf.tensor2d(before.steps, [n, 1], "int32"),
        rowMomentum: restarting ? tf.tensor2d(before.rowMomentum, [n, 1]) : null,
        rowEta: adaptive === null ? null : tf.tensor2d(before.rowEta, [n, 1]),
        previousGradient: adaptive === null ? null : tf.tensor2d(before.previousGradient, [n, l]),
        previousY: adaptive === null ? null : tf.tensor2d(before.previousY, [n, l])
      }
      const gradient = tf.tensor2d(g, [n, l])
      const { next, liveCount } = deviceStep(state, gradient, {
        eta,
        threshold: eta * energy.lambda,
        lambda: energy.lambda,
        tol2,
        extrapolation,
        adaptive
      })
      try {
        const live = next.live.dataSync()
        const z = next.z.dataSync()
        const y = next.y.dataSync()
        const momentum = next.rowMomentum?.dataSync() ?? null
        const rowEta = next.rowEta?.dataSync() ?? null
        expect(Array.from(next.steps.dataSync())).toStrictEqual(Array.from(pass.stepsPerRow))
        for (let i = 0; i < n; i++) {
          if (!before.live[i]) continue
          const row = (a: ArrayLike<number>) => Array.from({ length: l }, (_, j) => a[i * l + j])
          const [y0, z0, z1, g0] = [row(before.y), row(before.z), row(pass.z), row(g)]
          const dot = (a: number[], b: number[]) => a.reduce((sum, v, j) => sum + v * b[j], 0)
          const diff = z1.map((v, j) => v - z0[j])
          const near = (value: number, threshold: number, scale: number) =>
            Math.abs(value - threshold) <= 1e-3 * Math.max(scale, Number.MIN_VALUE)
          const where = `${kind}, step ${k + 1}, row ${i}`
          // The convergence test, ‖Δz‖² < tol²·‖z‖².
          const change = dot(diff, diff)
          const freezeLimit = tol2 * dot(z0, z0)
          const scale = maxAbs(y0) + maxAbs(z0) + 4 * maxAbs(g0) + 1
          const rounding = 64 * ULP * scale
          if (live[i] !== pass.live[i]) {
            decisions++
            // A step below float32's resolution is 0 on the device and a sliver above it in the
            // host's float64, where the tolerance freezes the row and the unchanged-row rule,
            // with momentum, does not: the host freezes, the device goes on.
            const sliver = pass.live[i] === 0 && change <= l * rounding * rounding
            if (!near(change, freezeLimit, freezeLimit) && !sliver)
              throw new Error(`${where}: freezes on one side only, ‖Δz‖² ${change} against ${freezeLimit}`)
            continue
          }
          // The restart test, (y − z⁺)·(z⁺ − z) > 0, and the adaptive step's η·L̂ > 1.
          if (momentum !== null && Math.abs(momentum[i] - pass.rowMomentum[i]) > 64 * ULP * pass.rowMomentum[i]) {
            decisions++
            const uphill = dot(
              y0.map((v, j) => v - z1[j]),
              diff
            )
            const size = Math.sqrt(
              dot(
                y0.map((v, j) => v - z1[j]),
                y0.map((v, j) => v - z1[j])
              ) * change
            )
            const dg = g0.map((v, j) => v - before.previousGradient[i * l + j])
            const dy = y0.map((v, j) => v - before.previousY[i * l + j])
            const ratio = before.rowEta[i] * Math.sqrt(dot(dg, dg) / dot(dy, dy))
            if (!near(uphill, 0, size) && !(adaptive !== null && near(ratio, 1, 1)))
              throw new Error(`${where}: restarts on one side only, (y − z⁺)·(z⁺ − z) = ${uphill}, η·L̂ = ${ratio}`)
            continue
          }
          expectWithin(`${where}, z`, row(z), z1, rounding)
          expectWithin(`${where}, y`, row(y), row(pass.y), rounding)
          if (rowEta !== null) expectWithin(`${where}, η`, [rowEta[i]], [pass.rowEta[i]], 64 * ULP * pass.rowEta[i])
        }
        expect(liveCount.dataSync()[0]).toBe(Array.from(live).reduce((a, b) => a + b, 0))
      } finally {
        tf.dispose([...stateTensors(state), ...stateTensors(next), gradient, liveCount])
      }
    }
    return decisions
  } finally {
    fused.release()
    term.dispose()
  }
}

describe("whole runs on random batches, in lockstep with the host pass", () => {
  it.each(["none", "shared", "restarting", "adaptive"] as const)(
    "momentum %s: the same decisions but within rounding of their thresholds, iterates within one step's rounding",
    (kind) => {
      fc.assert(
        fc.property(
          problemSpec({ decoder: "either", beta: "positive", gamma: "either" }),
          fc.boolean(),
          (spec, hinge) => {
            const weights = hinge ? spec.weights : { ...spec.weights, beta: 0 }
            withProblem({ ...spec, weights }, (p) => {
              lockstep(kind, p, 60, 1e-4)
            })
          }
        ),
        { numRuns: 25 }
      )
    }
  )
})

describe("the device pass's tensors", () => {
  it("stay flat over repeated inferences of every method, with and without the batch terms", () => {
    withProblem({ seed: 3, n: 20, l: 8, d: 12, hidden: [10], weights: energies[3][1] }, (p) => {
      const run = () => {
        for (const method of inferenceMethods) {
          for (const [, weights] of energies) {
            const term = denseReconstructionTerm(p.dec, p.x)
            const result = method.infer(term, p.zEnc, p.z0, libraryEnergy(weights), {
              maxSteps: 50,
              tol: 1e-4,
              step: { kind: "fixed", eta: 0.05 },
              fusedPass: "device"
            })
            result.codes.dispose()
            term.dispose()
          }
        }
      }
      run()
      const before = tf.memory().numTensors
      for (let r = 0; r < 3; r++) run()
      expect(tf.memory().numTensors).toBe(before)
    })
  })
})

describe("a model whose products carry the device pass", () => {
  it("trains through trainStep on the device: the host's steps and energy, tensors flat (VDL with FISTA, four steps on one batch)", () => {
    const settings = {
      ...variants.vdl.settings.mnist,
      inference: "fista" as const,
      codeDim: 8,
      batchSize: 16,
      maxSteps: 60
    }
    const x = tf.tensor2d(gaussian(seeded(9), 16, 20), [16, 20])
    const toPixels = affineToPixels(0.1307, 0.3081)
    const trained = (linalg: Linalg) => {
      const model = makeModel(settings, 20, seeded(4), { linalg })
      try {
        const totals = [0, 1, 2].map(() => trainStep(model, x, 0, toPixels))
        const count = tf.memory().numTensors
        totals.push(trainStep(model, x, 0, toPixels))
        expect(tf.memory().numTensors, "tensors after another step").toBe(count)
        return totals
      } finally {
        disposeModel(model)
      }
    }
    try {
      // The products' pass reaches the model's inference: a name it does not know stops the step.
      expect(() => trained({ ...tfjsLinalg, inferencePass: "gpu" as InferencePass })).toThrow(
        'linalg.inferencePass: inference pass "gpu" is unknown'
      )
      const host = trained(tfjsLinalg)
      const device = trained({ ...tfjsLinalg, inferencePass: "device" })
      expect(device.map((t) => t.fistaSteps)).toStrictEqual(host.map((t) => t.fistaSteps))
      device.forEach((t, k) => expect(Math.abs(t.energy - host[k].energy)).toBeLessThanOrEqual(1e-5 * host[k].energy))
    } finally {
      x.dispose()
    }
  })
})

describe("choosing the pass", () => {
  const spec = { seed: 5, n: 12, l: 6, d: 10, hidden: [], weights: energies[3][1] }
  const options: InferenceOptions = { maxSteps: 100, tol: 1e-4, step: { kind: "fixed", eta: 0.05 } }
  const codesOf = (p: Problem, extra: Partial<InferenceOptions>) => {
    const method = inferenceMethods[0]
    const term = denseReconstructionTerm(p.dec, p.x)
    try {
      const result = method.infer(term, p.zEnc, p.z0, libraryEnergy(spec.weights), { ...options, ...extra })
      const codes = Array.from(result.codes.dataSync())
      result.codes.dispose()
      return codes
    } finally {
      term.dispose()
    }
  }

  it("follows the backend's choice carried by the products, and an explicit option overrides it", () => {
    withProblem(spec, (p) => {
      const device = codesOf(p, { fusedPass: "device" })
      const host = codesOf(p, { fusedPass: "wasm-simd" })
      // The two passes round differently here, so the codes tell which one ran.
      expect(device).not.toStrictEqual(host)
      expect(codesOf(p, { linalg: { ...tfjsLinalg, inferencePass: "device" } })).toStrictEqual(device)
      expect(codesOf(p, {})).toStrictEqual(host)
      expect(codesOf(p, { linalg: { ...tfjsLinalg, inferencePass: "device" }, fusedPass: "javascript" })).toStrictEqual(
        host
      )
    })
  })

  it("refuses a pass it does not know, naming the choices", () => {
    withProblem(spec, (p) => {
      expect(() => codesOf(p, { fusedPass: "gpu" as InferencePass })).toThrow(
        'InferenceOptions.fusedPass: inference pass "gpu" is unknown; choose one of device, wasm-simd, javascript'
      )
    })
  })

  describe("from the backend", () => {
    const saved = process.env.SPARSE_VDL_INFERENCE_PASS
    afterEach(() => {
      if (saved === undefined) delete process.env.SPARSE_VDL_INFERENCE_PASS
      else process.env.SPARSE_VDL_INFERENCE_PASS = saved
    })

    it("a backend without a device keeps the host pass; SPARSE_VDL_INFERENCE_PASS picks one, and a wrong name fails at start", async () => {
      delete process.env.SPARSE_VDL_INFERENCE_PASS
      const cpu = await Effect.runPromise(selectBackend("cpu"))
      expect(cpu.hasDevice).toBe(false)
      expect(cpu.linalg.inferencePass).toBe("wasm-simd")
      process.env.SPARSE_VDL_INFERENCE_PASS = "device"
      expect((await Effect.runPromise(selectBackend("cpu"))).linalg.inferencePass).toBe("device")
      process.env.SPARSE_VDL_INFERENCE_PASS = "cuda"
      const refused = await Effect.runPromise(Effect.either(selectBackend("cpu")))
      expect(Either.isLeft(refused)).toBe(true)
      if (Either.isLeft(refused))
        expect(refused.left.message).toBe(
          'backend cpu cannot be used: SPARSE_VDL_INFERENCE_PASS: inference pass "cuda" is unknown; choose one of device, wasm-simd, javascript. Set SPARSE_VDL_INFERENCE_PASS to one of those, or unset it to let the backend choose.'
        )
    })
  })
})
