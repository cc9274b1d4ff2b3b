import type * as tf from "@tensorflow/tfjs-core"
import type { Schema } from "effect"
import type { Linalg } from "../linalg.js"
import type { SettingDocs } from "../setting-docs.js"

/**
 * A smooth term of the energy on the codes, beside the decoder's reconstruction term: a function
 * of the batch of codes z (N×l) and of the encoder's prediction zEnc. Terms may couple rows
 * (batch statistics), which is why inference hands them the whole batch.
 */
export interface CodeTerm {
  readonly name: string
  /** The term's value on the batch, a scalar. Must run inside a tidy. */
  readonly value: (z: tf.Tensor2D, zEnc: tf.Tensor2D) => tf.Scalar
  /** ∂/∂z of the value, N×l. Must run inside a tidy. */
  readonly gradient: (z: tf.Tensor2D, zEnc: tf.Tensor2D) => tf.Tensor2D
  /** An upper bound (or the usual estimate) of its gradient's Lipschitz constant, for the step 1/L. */
  readonly lipschitz: (rows: number, codeDim: number) => number
  /** The same gradient on host arrays, as inference runs it. */
  readonly host: HostGradient
}

/**
 * How a term's gradient enters inference's fused pass over the iterates. Most terms are affine in
 * each entry once the batch's column moments are known: ∂/∂yᵢⱼ = slopeⱼ·yᵢⱼ − offsetⱼ −
 * encoderWeight·eᵢⱼ. Such a term only fills those coefficients from the moments, which inference
 * keeps up to date inside its own pass (frozen rows' share once, when they freeze), so the term
 * costs no sweep over the batch. Any other term adds its gradient into the live rows' buffer.
 */
export type HostGradient =
  | {
      readonly kind: "affine"
      /** Adds this step's coefficients, from the moments of the whole batch (frozen rows at their final value). */
      readonly accumulate: (moments: ColumnMoments, codeDim: number, coefficients: AffineCoefficients) => void
    }
  | {
      readonly kind: "general"
      /**
       * Adds ∂/∂y for the rows listed in liveRows into g (one row of g per live row, in order),
       * with the model's products (a native BLAS's when one is loaded).
       */
      readonly addTo: (
        y: Float32Array,
        zEnc: Float32Array,
        rows: number,
        codeDim: number,
        liveRows: Int32Array,
        g: Float32Array,
        linalg: Linalg
      ) => void
    }

/** Per column j of the batch y (N×l): Σᵢ yᵢⱼ and Σᵢ yᵢⱼ², in float64. */
export interface ColumnMoments {
  readonly rows: number
  readonly sum: Float64Array
  readonly sumOfSquares: Float64Array
}

/** The moments of y (N×l) in one pass; inference keeps them incrementally instead. */
export const columnMoments = (y: Float32Array, rows: number, codeDim: number): ColumnMoments => {
  const sum = new Float64Array(codeDim)
  const sumOfSquares = new Float64Array(codeDim)
  for (let i = 0, q = 0; i < rows; i++) {
    for (let j = 0; j < codeDim; j++, q++) {
      const v = y[q]
      sum[j] += v
      sumOfSquares[j] += v * v
    }
  }
  return { rows, sum, sumOfSquares }
}

export interface AffineCoefficients {
  readonly slope: Float64Array
  readonly offset: Float64Array
  /** Weight of the per-entry constant −eᵢⱼ, the encoder's prediction. */
  encoderWeight: number
}

/**
 * A kind of term as the settings know it: the settings fields it reads (a piece of the settings
 * Schema, with their documentation) and how it is made from them. `make` answers null when the
 * settings switch it off (a weight of 0), so that a switched-off term costs nothing.
 */
export interface TermKind<F extends Schema.Struct.Fields> {
  readonly name: string
  readonly description: string
  readonly fields: F
  readonly docs: SettingDocs<Schema.Struct.Type<F>>
  readonly make: (settings: Schema.Struct.Type<F>) => CodeTerm | null
}

export const termKind = <F extends Schema.Struct.Fields>(kind: TermKind<F>): TermKind<F> => kind

/**
 * What the settings need of a term kind, without its maths: the settings Schema, the command-line
 * options and the help read these, so that they load no TensorFlow.js. `load` imports the kind
 * itself from its own module, which the energy's registry (registry.ts) does before any maths runs.
 */
export interface TermDeclaration<F extends Schema.Struct.Fields> {
  readonly name: string
  readonly description: string
  readonly fields: F
  readonly docs: SettingDocs<Schema.Struct.Type<F>>
  readonly load: () => Promise<TermKind<F>>
}
