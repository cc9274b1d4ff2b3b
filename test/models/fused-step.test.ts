/**
 * The WebAssembly kernel of inference's per-entry pass against the JavaScript pass it replaces:
 * bit-identical iterates, moments, step counts and frozen rows, on random states and through
 * whole FISTA runs (with the decoder's gradient left in parts, as a native BLAS gives it). And the
 * committed kernel bytes are the assembly of the committed text.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { assembleKernel } from "../../scripts/kernel-source.js"
import {
  denseReconstructionTerm as reconstructionTerm,
  disposeDenseDecoder as disposeDecoder,
  makeDenseDecoder as makeDecoder
} from "../../src/models/decoders/dense.js"
import { fista } from "../../src/models/inference/fista.js"
import { fistaAdaptive } from "../../src/models/inference/fista-adaptive.js"
import { fistaRestart } from "../../src/models/inference/fista-restart.js"
import {
  type FusedPass,
  fusedStep,
  javascriptStep,
  type Pass,
  type StepParameters,
  wasmStepApplies
} from "../../src/models/inference/fused-step.js"
import { wasmBase64 } from "../../src/models/inference/kernels/fused-step.wasm.js"
import { type Linalg, tfjsLinalg } from "../../src/models/linalg.js"
import { installNativeMatMul } from "../../src/pipeline/backend/native-matmul.js"
import { libraryEnergy } from "../helpers/problems.js"
import { configureFastCheck, gaussian, seeded, setTestBackend } from "../helpers/tf.js"

configureFastCheck()

let linalg: Linalg = tfjsLinalg
beforeAll(async () => {
  await setTestBackend()
  const installed = installNativeMatMul({ threads: 1 })
  if (typeof installed !== "string") linalg = installed.linalg
})

interface State {
  readonly n: number
  readonly l: number
  readonly seed: number
  readonly steps: number
  readonly parameters: StepParameters
  /** Rows frozen before the first step (they stay out of the live list). */
  readonly frozen: ReadonlyArray<boolean>
  /** Whether the gradient comes in parts c·(P − T). */
  readonly scale: number | null
}

const state: fc.Arbitrary<State> = fc
  .record({
    n: fc.integer({ min: 1, max: 9 }),
    half: fc.integer({ min: 1, max: 9 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    steps: fc.integer({ min: 1, max: 6 }),
    eta: fc.double({ min: 1e-3, max: 1, noNaN: true }),
    threshold: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
    tol: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 2, noNaN: true })),
    extrapolation: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    restarting: fc.boolean(),
    adaptive: fc.oneof(
      fc.constant(null),
      fc.record({
        lambda: fc.double({ min: 0, max: 1, noNaN: true }),
        growth: fc.double({ min: 1, max: 2, noNaN: true }),
        etaMax: fc.double({ min: 1e-3, max: 4, noNaN: true }),
        etaMin: fc.double({ min: 0, max: 0.5, noNaN: true }),
        stepTolerance: fc.boolean()
      })
    ),
    frozen: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    scale: fc.oneof(fc.constant(null), fc.double({ min: 1e-3, max: 3, noNaN: true }))
  })
  .map(({ n, half, seed, steps, eta, threshold, tol, extrapolation, restarting, adaptive, frozen, scale }) => ({
    n,
    l: 2 * half,
    seed,
    steps,
    parameters: { eta, threshold, tol2: tol * tol, extrapolation, restarting, adaptive },
    frozen: frozen.slice(0, n),
    scale
  }))

/** Everything the pass writes, copied out. */
const snapshot = (p: Pass) => ({
  y: Array.from(p.y),
  z: Array.from(p.z),
  live: Array.from(p.live),
  steps: Array.from(p.stepsPerRow),
  momentum: Array.from(p.rowMomentum),
  rowEta: Array.from(p.rowEta),
  previousGradient: Array.from(p.previousGradient),
  previousY: Array.from(p.previousY),
  liveSum: Array.from(p.liveSum),
  liveSumOfSquares: Array.from(p.liveSumOfSquares),
  frozenSum: Array.from(p.frozenSum),
  frozenSumOfSquares: Array.from(p.frozenSumOfSquares)
})

/** Runs s.steps passes from the state the seed draws, on the kernel asked for. */
const run = (s: State, kind: FusedPass) => {
  const { n, l } = s
  const fused = fusedStep(n, l, kind)
  try {
    const { pass } = fused
    const rng = seeded(s.seed)
    const nonNegative = (v: number) => (rng.next() < 0.3 ? 0 : Math.abs(v))
    pass.z.set(gaussian(rng, n, l).map(nonNegative))
    pass.y.set(gaussian(rng, n, l).map(nonNegative))
    pass.enc.set(gaussian(rng, n, l))
    pass.coefficients.slope.set(gaussian(rng, 1, l))
    pass.coefficients.offset.set(gaussian(rng, 1, l))
    pass.coefficients.encoderWeight = rng.next()
    pass.rowMomentum.set(Array.from({ length: n }, () => 1 + 3 * rng.next()))
    // Some rows start as if past their first step, so that the adaptive step's secant applies at once.
    pass.rowEta.set(Array.from({ length: n }, () => 2 * rng.next()))
    pass.stepsPerRow.set(Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : 1)))
    pass.previousGradient.set(gaussian(rng, n, l))
    pass.previousY.set(gaussian(rng, n, l).map(nonNegative))
    const target = gaussian(rng, n, l)
    let live = 0
    for (let i = 0; i < n; i++) {
      pass.live[i] = s.frozen[i] ? 0 : 1
      if (!s.frozen[i]) pass.rowIndices[live++] = i
    }
    let liveRows = pass.rowIndices.subarray(0, live)
    for (let k = 0; k < s.steps && liveRows.length > 0; k++) {
      const product = gaussian(rng, liveRows.length, l)
      const { parameters } = s
      if (s.scale === null) fused.step(liveRows, product, parameters)
      else if (fused.productBuffer !== null) {
        fused.productBuffer.set(product)
        fused.step(liveRows, fused.productBuffer, parameters, { target, scale: s.scale })
      } else {
        // The JavaScript pass takes the gradient whole, as the decoder's own last pass leaves it.
        const g = Float32Array.from(
          product,
          (v, q) => s.scale! * (v - target[liveRows[Math.floor(q / l)] * l + (q % l)])
        )
        javascriptStep(pass, liveRows, g, parameters, new Float64Array(l))
      }
      let still = 0
      for (let p = 0; p < liveRows.length; p++) if (pass.live[liveRows[p]] === 1) pass.rowIndices[still++] = liveRows[p]
      liveRows = pass.rowIndices.subarray(0, still)
    }
    return snapshot(pass)
  } finally {
    fused.release()
  }
}

describe("the WebAssembly kernel of inference's pass", () => {
  it("applies here, on an even code size", () => {
    expect(wasmStepApplies(128)).toBe(true)
    expect(wasmStepApplies(127)).toBe(false)
    expect(fusedStep(4, 6).kind).toBe("wasm-simd")
    expect(fusedStep(4, 7).kind).toBe("javascript")
    expect(fusedStep(4, 6, "javascript").kind).toBe("javascript")
  })

  it("gives the JavaScript pass's iterates, moments and frozen rows bit for bit", () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(run(s, "wasm-simd")).toStrictEqual(run(s, "javascript"))
      }),
      { numRuns: 200 }
    )
  })

  it.each([
    ["FISTA", fista],
    ["FISTA with restart", fistaRestart],
    ["FISTA with restart and an adaptive step", fistaAdaptive]
  ])("gives the same codes and step counts through %s on a VDL energy, with the gradient in parts", (_, method) => {
    const n = 40
    const l = 16
    const d = 30
    const rng = seeded(11)
    const dec = makeDecoder(rng, l, [], d, linalg)
    const x = tf.tensor2d(gaussian(rng, n, d), [n, d])
    const zEnc = tf.tensor2d(gaussian(rng, n, l).map(Math.abs), [n, l])
    const reconstruction = reconstructionTerm(dec, x)
    try {
      // Where a BLAS loaded (always in CI) the linear decoder leaves its gradient in parts.
      if (linalg.hostGemm !== null) expect(reconstruction.gradientInParts).toBeDefined()
      const energy = libraryEnergy({ lambda: 0.05, beta: 2, tau: 1, gamma: 0.5 })
      const infer = (fusedPass: FusedPass) => {
        const result = method.infer(reconstruction, zEnc, zEnc, energy, {
          maxSteps: 200,
          tol: 1e-4,
          step: { kind: "fixed", eta: 0.05 },
          linalg,
          fusedPass
        })
        const codes = Array.from(result.codes.dataSync())
        result.codes.dispose()
        return { codes, steps: Array.from(result.stepsPerRow), iterations: result.iterations }
      }
      const reference = infer("javascript")
      expect(reference.iterations).toBeGreaterThan(5)
      expect(infer("wasm-simd")).toStrictEqual(reference)
    } finally {
      reconstruction.dispose()
      disposeDecoder(dec)
      tf.dispose([x, zEnc])
    }
  })

  it("is the assembly of the committed text (after editing the .wat, run npm run kernels)", async () => {
    const text = readFileSync(new URL("../../src/models/inference/kernels/fused-step.wat", import.meta.url), "utf8")
    const bytes = await assembleKernel(text, "fused-step.wat")
    expect(Buffer.from(bytes).toString("base64")).toBe(wasmBase64)
  })
})
