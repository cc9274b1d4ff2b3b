/**
 * Inference's pass on the device (device-pass.ts, TensorFlow.js operations on the backend's own
 * tensors) against the host pass (the WebAssembly kernel, bit-identical to the JavaScript
 * reference), on the cpu backend: one step from random states, and whole runs of every inference
 * method with and without the variance hinge and the encoder distance. And where the choice
 * between them comes from.
 *
 * The device sums in float32 where the host sums in float64, so iterates agree to float32
 * rounding, not bit for bit. The tolerance on codes is a rounding budget per step: a step rounds
 * each entry through the gradient's l-term product and about 8 elementwise operations, each off by
 * at most 2⁻²⁴ of the codes' scale, and FISTA's extrapolation carries the error into the next
 * step at most doubled: 2·(l + 8)·2⁻²⁴·max|z| per step, summed over the steps taken. (Measured on
 * random batches: at most 25 of those 2⁻²⁴·max|z| units per step.)
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
import type { InferenceMethod, InferenceOptions } from "../../src/models/inference/method.js"
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
          etaMin: fc.double({ min: 0, max: 0.5, noNaN: true })
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
 * η = 1/L̂, so on its next step η·L̂ is 1 up to how L̂ moved, and float32 rounding decides η·L̂ > 1.
 * Step for step its runs part ways (the one-step test above holds its decisions equal from equal
 * states); what must agree is where they end: the energy, and the work on the whole.
 */
const expectSameEnd = (method: InferenceMethod, p: Problem, weights: EnergyWeights, options: InferenceOptions) => {
  const energy = libraryEnergy(weights)
  const host = infer(method, p, energy, "wasm-simd", options)
  const device = infer(method, p, energy, "device", options)
  expectFrozenRowsKept(device, p.spec.n, p.spec.l)
  const F = hostEnergy(p.host, host.codes).total
  expect(Math.abs(hostEnergy(p.host, device.codes).total - F)).toBeLessThanOrEqual(1e-4 * F)
  const mean = (steps: number[]) => steps.reduce((a, b) => a + b, 0) / steps.length
  expect(Math.abs(mean(device.steps) - mean(host.steps))).toBeLessThanOrEqual(0.1 * mean(host.steps))
  return host
}

/** Methods whose step counts rounding decides (see expectSameEnd). */
const roundingDecided = new Set(["fista-adaptive"])

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

describe.each(inferenceMethods.filter((m) => m.name === "ista" || m.name === "fista").map((m) => [m.name, m] as const))(
  "%s on the device, random batches",
  (_, method) => {
    it.each(["zero", "positive"] as const)("takes the host pass's steps (β %s)", (beta) => {
      fc.assert(
        fc.property(problemSpec({ decoder: "either", beta, gamma: "either" }), (spec) => {
          withProblem(spec, (p) => {
            expectSameRun(method, p, spec.weights, { maxSteps: 200, tol: 1e-4, step: { kind: "lipschitz" } })
          })
        }),
        { numRuns: 25 }
      )
    })
  }
)

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
