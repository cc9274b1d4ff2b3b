import type * as tf from "@tensorflow/tfjs-core"
import type { ReconstructionTerm } from "../decoders/decoder.js"
import type { Energy } from "../energy.js"
import type { Linalg } from "../linalg.js"
import type { InferencePass } from "./pass.js"

/**
 * How the gradient step η is chosen: a fixed step (the paper's), or 1/L with L the sum of the
 * terms' Lipschitz bounds (exact for a linear decoder with the encoder term alone; the variance
 * hinge contributes its usual estimate).
 */
export type StepRule = { readonly kind: "fixed"; readonly eta: number } | { readonly kind: "lipschitz" }

export interface InferenceOptions {
  readonly maxSteps: number
  /** A row is frozen once ‖zᵒˡᵈ − z‖ < tol·‖zᵒˡᵈ‖ (or it stays all-zero). */
  readonly tol: number
  readonly step: StepRule
  /** Called after each step; for progress and for tests of the iterates. */
  readonly onStep?: (info: InferenceStepInfo) => void
  /** The products terms use on host arrays; by default plain tfjs. */
  readonly linalg?: Linalg
  /**
   * Where the per-entry pass runs; by default the one the backend chose (`linalg.inferencePass`),
   * else the WebAssembly SIMD kernel wherever it applies. "javascript" forces the host's reference
   * pass (bit-identical to the kernel); "device" keeps the iterates in tensors on the backend's
   * device, on any backend (equal to the host pass up to float32 rounding).
   */
  readonly fusedPass?: InferencePass
}

export interface InferenceStepInfo {
  /** 1-based index of the step just taken. */
  readonly step: number
  readonly liveRows: number
  /** The iterate z after this step, N×l row-major; valid only during the call. */
  readonly codes: Float32Array
  /** 1 for rows still moving after this step, 0 for frozen ones. */
  readonly live: Uint8Array
}

export interface InferenceResult {
  /** Z*, non-negative; the caller owns it. */
  readonly codes: tf.Tensor2D
  /** For each row, the number of steps it took part in before it froze. */
  readonly stepsPerRow: Int32Array
  readonly meanSteps: number
  /** Steps run on the batch (the largest per-row count). */
  readonly iterations: number
  readonly eta: number
}

/**
 * A way of minimising the energy over z ≥ 0 with the decoder frozen, from the warm start z0
 * (the encoder's prediction zEnc in training).
 */
export interface InferenceMethod<N extends string = string> {
  readonly name: N
  readonly description: string
  /** Whether the energy never increases from one step to the next (with a step at most 1/L). */
  readonly monotone: boolean
  readonly infer: (
    reconstruction: ReconstructionTerm,
    zEnc: tf.Tensor2D,
    z0: tf.Tensor2D,
    energy: Energy,
    options: InferenceOptions
  ) => InferenceResult
}

/** Keeps a method's name as a literal type, so that settings can list the names. */
export const inferenceMethod = <N extends string>(method: InferenceMethod<N>): InferenceMethod<N> => method

export const stepSize = (
  rule: StepRule,
  reconstruction: ReconstructionTerm,
  rows: number,
  codeDim: number,
  energy: Energy
): number => {
  if (rule.kind === "fixed") return rule.eta
  const L = energy.terms.reduce((sum, term) => sum + term.lipschitz(rows, codeDim), reconstruction.lipschitz())
  return L > 0 ? 1 / L : 1
}
