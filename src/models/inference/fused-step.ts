import type { GradientParts } from "../decoders/decoder.js"
import { nonNegativeShrink } from "../terms/sparsity.js"
import type { AffineCoefficients } from "../terms/term.js"
import { wasmBase64 } from "./kernels/fused-step.wasm.js"

/**
 * Where inference's per-entry pass runs: a WebAssembly SIMD kernel (the default wherever it
 * applies) or plain JavaScript. Both give bit-identical iterates; the kernel takes an even code
 * size.
 */
export type FusedPass = "wasm-simd" | "javascript"

/** The iterates and the per-row and per-column state of one inference call. */
export interface Pass {
  readonly l: number
  readonly y: Float32Array
  readonly z: Float32Array
  readonly enc: Float32Array
  readonly coefficients: AffineCoefficients
  readonly live: Uint8Array
  readonly stepsPerRow: Int32Array
  /**
   * The column moments of y kept up to date inside the pass, for the affine terms: the live rows'
   * share summed as their new y is written, the frozen rows' share added once, when they freeze.
   */
  readonly liveSum: Float64Array
  readonly liveSumOfSquares: Float64Array
  readonly frozenSum: Float64Array
  readonly frozenSumOfSquares: Float64Array
  /** Backing for the live rows' indices, which inference compacts in place as rows freeze. */
  readonly rowIndices: Int32Array
  /** Each row's momentum sequence tₖ, for restarting momentum. */
  readonly rowMomentum: Float64Array
  /** Each row's step, for an adaptive step. */
  readonly rowEta: Float64Array
  /** The gradient and the point of each row's last step, for the adaptive step's curvature estimate. */
  readonly previousGradient: Float32Array
  readonly previousY: Float32Array
}

/**
 * A step per row fitted to the curvature the row meets: after each step, L̂ = ‖∇f(y) − ∇f(y′)‖ /
 * ‖y − y′‖ from this step's gradient and the last one's. Where η·L̂ > 1 the step was longer than
 * the local 1/L̂, so the row's η becomes 1/L̂ and its momentum restarts; elsewhere η grows by
 * `growth`, up to 1/L̂ and `etaMax`. The new step applies from the row's next step on. A step
 * never falls below `etaMin`: across a kink of a ReLU decoder the secant can be far steeper than
 * the curvature on either side, and a tiny step would pass the convergence test, which reads the
 * change of z, without the row being near a fixed point.
 */
export interface AdaptiveStep {
  /** λ, for each row's threshold η·λ. */
  readonly lambda: number
  readonly growth: number
  readonly etaMax: number
  readonly etaMin: number
  /**
   * Whether the convergence test reads a row's change per unit of its step where that step is
   * longer than η: ‖Δz‖ < tol·max(1, η_row/η)·‖z‖. A proximal step's change is its step times the
   * gradient mapping, so the plain test holds a row whose step grew to 4η to a standard four times
   * tighter than η's. Shorter steps keep the plain test: read per unit of a step of η/4 it would
   * ask for changes below float32's resolution at small tolerances.
   */
  readonly stepTolerance: boolean
}

export interface StepParameters {
  readonly eta: number
  readonly threshold: number
  readonly tol2: number
  /** FISTA's extrapolation for the batch this step (0 for ISTA); ignored when restarting. */
  readonly extrapolation: number
  /** One momentum sequence per row (pass.rowMomentum), restarted when it points uphill. */
  readonly restarting: boolean
  /** A step per row (pass.rowEta) in place of eta and threshold, or null. */
  readonly adaptive: AdaptiveStep | null
}

/** A pass over the live rows: gradient, prox, momentum and the convergence test, fused. */
export interface FusedStep {
  readonly kind: FusedPass
  readonly pass: Pass
  /**
   * Where the decoder may write its product for a gradient left in parts (the kernel then takes
   * c·(P − T) inside the pass); null where the pass needs the gradient rows whole.
   */
  readonly productBuffer: Float32Array | null
  /**
   * g holds the live rows' gradient rows in order, or their product P when parts are given;
   * liveRows is a prefix of pass.rowIndices.
   */
  readonly step: (liveRows: Int32Array, g: Float32Array, parameters: StepParameters, parts?: GradientParts) => void
  /** Hands back what the pass holds; its arrays are invalid afterwards. */
  readonly release: () => void
}

/**
 * The row's convergence test, then freezing: an unchanged row is at a fixed point of the
 * prox-gradient map only if the step started from z itself, since momentum can carry a row to the
 * same point (often 0) twice without it being optimal.
 */
const settle = (s: Pass, i: number, change: number, scale: number, momentumGap: number, tol2: number): void => {
  s.stepsPerRow[i] += 1
  if ((change === 0 && momentumGap === 0) || (change > 0 && change < tol2 * scale)) {
    s.live[i] = 0
    const { y, z, liveSum, liveSumOfSquares, frozenSum, frozenSumOfSquares } = s
    for (let j = 0, q = i * s.l; j < s.l; j++, q++) {
      const leaving = y[q]
      liveSum[j] -= leaving
      liveSumOfSquares[j] -= leaving * leaving
      const kept = z[q]
      frozenSum[j] += kept
      frozenSumOfSquares[j] += kept * kept
      y[q] = kept
    }
  }
}

/**
 * The pass in JavaScript, the reference the kernel is held to. With one extrapolation for the
 * batch (FISTA, ISTA at 0) y is written in the same pass. With a momentum sequence per row the
 * extrapolation waits for the row's gradient-based restart test of O'Donoghue & Candès (2015):
 * where (y − z⁺)·(z⁺ − z) > 0 the momentum has carried the row uphill, so it takes the plain
 * proximal step from z⁺ and its sequence starts again.
 */
export const javascriptStep = (
  s: Pass,
  liveRows: Int32Array,
  g: Float32Array,
  parameters: StepParameters,
  rowStep: Float64Array
): void => {
  const { l, y, z, enc, liveSum, liveSumOfSquares } = s
  const { tol2, extrapolation, adaptive } = parameters
  const rowMomentum = parameters.restarting ? s.rowMomentum : null
  const { rowEta, previousGradient, previousY } = s
  const { slope, offset, encoderWeight } = s.coefficients
  liveSum.fill(0)
  liveSumOfSquares.fill(0)
  for (let p = 0; p < liveRows.length; p++) {
    const i = liveRows[p]
    let change = 0
    let scale = 0
    let momentumGap = 0
    let uphill = 0
    let curvature = 0
    let distance = 0
    const eta = adaptive === null ? parameters.eta : rowEta[i]
    const threshold = adaptive === null ? parameters.threshold : eta * adaptive.lambda
    const base = i * l
    const gBase = p * l
    for (let j = 0; j < l; j++) {
      const q = base + j
      const yq = y[q]
      const old = z[q]
      momentumGap += (yq - old) * (yq - old)
      const grad = g[gBase + j] + slope[j] * yq - encoderWeight * enc[q] - offset[j]
      if (adaptive !== null) {
        const dg = grad - previousGradient[q]
        curvature += dg * dg
        const dy = yq - previousY[q]
        distance += dy * dy
        previousGradient[q] = grad
        previousY[q] = yq
      }
      const proposed = nonNegativeShrink(yq - eta * grad, threshold)
      const diff = proposed - old
      change += diff * diff
      scale += old * old
      z[q] = proposed
      if (rowMomentum === null) {
        const next = proposed + extrapolation * diff
        y[q] = next
        liveSum[j] += next
        liveSumOfSquares[j] += next * next
      } else {
        uphill += (yq - proposed) * diff
        rowStep[j] = diff
      }
    }
    if (adaptive !== null && s.stepsPerRow[i] > 0 && distance > 0) {
      const ratio = eta * Math.sqrt(curvature / distance)
      if (ratio > 1) {
        rowEta[i] = Math.max(eta / ratio, adaptive.etaMin)
        uphill = 1
      } else rowEta[i] = Math.min(eta * adaptive.growth, eta / ratio, adaptive.etaMax)
    }
    if (rowMomentum !== null) {
      let e = 0
      if (uphill > 0) rowMomentum[i] = 1
      else {
        const tNext = (1 + Math.sqrt(1 + 4 * rowMomentum[i] * rowMomentum[i])) / 2
        e = (rowMomentum[i] - 1) / tNext
        rowMomentum[i] = tNext
      }
      for (let j = 0; j < l; j++) {
        const next = z[base + j] + e * rowStep[j]
        y[base + j] = next
        liveSum[j] += next
        liveSumOfSquares[j] += next * next
      }
    }
    let rowTol2 = tol2
    if (adaptive?.stepTolerance) {
      const r = Math.max(1, eta / parameters.eta)
      rowTol2 = tol2 * (r * r)
    }
    settle(s, i, change, scale, momentumGap, rowTol2)
  }
}

const javascriptFused = (n: number, l: number): FusedStep => {
  const pass: Pass = {
    l,
    y: new Float32Array(n * l),
    z: new Float32Array(n * l),
    enc: new Float32Array(n * l),
    coefficients: { slope: new Float64Array(l), offset: new Float64Array(l), encoderWeight: 0 },
    live: new Uint8Array(n),
    stepsPerRow: new Int32Array(n),
    liveSum: new Float64Array(l),
    liveSumOfSquares: new Float64Array(l),
    frozenSum: new Float64Array(l),
    frozenSumOfSquares: new Float64Array(l),
    rowIndices: new Int32Array(n),
    rowMomentum: new Float64Array(n),
    rowEta: new Float64Array(n),
    previousGradient: new Float32Array(n * l),
    previousY: new Float32Array(n * l)
  }
  const rowStep = new Float64Array(l)
  return {
    kind: "javascript",
    pass,
    productBuffer: null,
    step: (liveRows, g, parameters) => javascriptStep(pass, liveRows, g, parameters, rowStep),
    release: () => {}
  }
}

interface KernelMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}

interface KernelExports {
  readonly memory: KernelMemory
  readonly step: (...args: number[]) => void
}

/** The part of the WebAssembly API used here; the project's type libraries leave it out. */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object) => { readonly exports: unknown }
}
const wasmApi = (globalThis as unknown as { readonly WebAssembly?: WasmApi }).WebAssembly

let compiled: object | null | undefined
/** Instances not in use, each with its memory; inference may nest (a term that infers), so a pool. */
const idle: KernelExports[] = []
/** Past this, an instance's memory is dropped after use rather than kept for the next call. */
const KEEP_BYTES = 64 * 2 ** 20

/** The kernel's module, or null where this runtime lacks WebAssembly SIMD. */
const kernelModule = (): object | null => {
  if (compiled === undefined) {
    try {
      compiled = wasmApi === undefined ? null : new wasmApi.Module(Buffer.from(wasmBase64, "base64"))
    } catch {
      compiled = null
    }
  }
  return compiled ?? null
}

/** Whether this runtime runs the WebAssembly kernel (it needs WebAssembly SIMD). */
export const wasmKernelLoads = (): boolean => kernelModule() !== null

/** Whether the WebAssembly kernel can run a pass of this code size here. */
export const wasmStepApplies = (l: number): boolean => l % 2 === 0 && kernelModule() !== null

const wasmFused = (n: number, l: number, module: object, api: WasmApi): FusedStep => {
  const kernel = idle.pop() ?? (new api.Instance(module).exports as KernelExports)
  // Layout: seven float64 column arrays, the rows' momenta and steps, then y, z, enc, g, a target,
  // the previous gradient and the previous y (n×l float32 each), then the row indices and step
  // counts (int32) and the live flags (bytes). Every array starts 16-aligned.
  const f64 = 8 * l
  const f32 = 4 * n * l
  const align = (bytes: number) => Math.ceil(bytes / 16) * 16
  const offsets: number[] = []
  let end = 0
  for (const bytes of [
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
    8 * n,
    8 * n,
    f32,
    f32,
    f32,
    f32,
    f32,
    f32,
    f32,
    4 * n,
    4 * n,
    n
  ]) {
    offsets.push(end)
    end += align(bytes)
  }
  const { memory } = kernel
  if (memory.buffer.byteLength < end) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536))
  const { buffer } = memory
  const [
    slopeAt,
    offsetAt,
    liveSumAt,
    liveSqAt,
    frozenSumAt,
    frozenSqAt,
    rowStepAt,
    momentumAt,
    rowEtaAt,
    yAt,
    zAt,
    encAt,
    gAt,
    targetAt,
    previousGradientAt,
    previousYAt,
    rowsAt,
    stepsAt,
    liveAt
  ] = offsets
  // The memory is reused from call to call, so everything is set here.
  new Uint8Array(buffer, 0, end).fill(0)
  const pass: Pass = {
    l,
    y: new Float32Array(buffer, yAt, n * l),
    z: new Float32Array(buffer, zAt, n * l),
    enc: new Float32Array(buffer, encAt, n * l),
    coefficients: {
      slope: new Float64Array(buffer, slopeAt, l),
      offset: new Float64Array(buffer, offsetAt, l),
      encoderWeight: 0
    },
    live: new Uint8Array(buffer, liveAt, n),
    stepsPerRow: new Int32Array(buffer, stepsAt, n),
    liveSum: new Float64Array(buffer, liveSumAt, l),
    liveSumOfSquares: new Float64Array(buffer, liveSqAt, l),
    frozenSum: new Float64Array(buffer, frozenSumAt, l),
    frozenSumOfSquares: new Float64Array(buffer, frozenSqAt, l),
    rowIndices: new Int32Array(buffer, rowsAt, n),
    rowMomentum: new Float64Array(buffer, momentumAt, n),
    rowEta: new Float64Array(buffer, rowEtaAt, n),
    previousGradient: new Float32Array(buffer, previousGradientAt, n * l),
    previousY: new Float32Array(buffer, previousYAt, n * l)
  }
  const g = new Float32Array(buffer, gAt, n * l)
  const target = new Float32Array(buffer, targetAt, n * l)
  // The target is the batch's, the same for every step: copied once.
  let targetCopied: Float32Array | null = null
  return {
    kind: "wasm-simd",
    pass,
    productBuffer: g,
    step: (liveRows, gradient, { eta, threshold, tol2, extrapolation, restarting, adaptive }, parts) => {
      if (gradient.buffer !== buffer || gradient.byteOffset !== gAt) g.set(gradient.subarray(0, liveRows.length * l))
      if (parts !== undefined && parts.target !== targetCopied) {
        target.set(parts.target.subarray(0, n * l))
        targetCopied = parts.target
      }
      kernel.step(
        liveRows.byteOffset,
        liveRows.length,
        gAt,
        yAt,
        zAt,
        encAt,
        slopeAt,
        offsetAt,
        liveSumAt,
        liveSqAt,
        frozenSumAt,
        frozenSqAt,
        liveAt,
        stepsAt,
        l,
        eta,
        threshold,
        pass.coefficients.encoderWeight,
        extrapolation,
        tol2,
        parts === undefined ? 0 : 1,
        targetAt,
        parts?.scale ?? 1,
        restarting ? momentumAt : 0,
        rowStepAt,
        adaptive === null ? 0 : rowEtaAt,
        previousGradientAt,
        previousYAt,
        adaptive?.lambda ?? 0,
        adaptive?.growth ?? 1,
        adaptive?.etaMax ?? 0,
        adaptive?.etaMin ?? 0,
        adaptive?.stepTolerance ? 1 : 0
      )
    },
    release: () => {
      if (memory.buffer.byteLength <= KEEP_BYTES) idle.push(kernel)
    }
  }
}

/**
 * The state and the pass for an inference call on n rows of l entries: the kernel asked for (by
 * default the WebAssembly one wherever it applies), else JavaScript.
 */
export const fusedStep = (n: number, l: number, requested: FusedPass = "wasm-simd"): FusedStep => {
  const module = requested === "wasm-simd" && wasmStepApplies(l) ? kernelModule() : null
  return module === null || wasmApi === undefined ? javascriptFused(n, l) : wasmFused(n, l, module, wasmApi)
}
