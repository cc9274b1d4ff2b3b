import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { encode } from "../../models/encoder.js"
import type { InferenceResult } from "../../models/inference/method.js"
import { runInference, type SparseCodingModel } from "../../models/model.js"
import { Progress } from "../train/progress.js"

/** The two kinds of codes every evaluation reports side by side. */
export const codeKinds = ["encoder", "fista"] as const
export type CodeKind = (typeof codeKinds)[number]

export const codeKindLabel: Record<CodeKind, string> = { encoder: "encoder", fista: "FISTA" }

/**
 * [start, end) row ranges covering `rows` rows in batches of nearly equal size, none larger than
 * `batchSize`. With the variance term (β > 0) FISTA couples the rows of a batch, so a ragged last
 * batch of a few rows would be inferred under different conditions from the rest.
 */
export const evenBatches = (rows: number, batchSize: number): Array<readonly [number, number]> => {
  if (rows === 0) return []
  const count = Math.ceil(rows / batchSize)
  return Array.from(
    { length: count },
    (_, b) => [Math.floor((b * rows) / count), Math.floor(((b + 1) * rows) / count)] as const
  )
}

/** Encoder codes E(x) and full FISTA inference warm-started at them; the caller disposes both. */
export interface BatchCodes {
  readonly encoder: tf.Tensor2D
  readonly fista: InferenceResult
}

/**
 * Both kinds of codes for one batch: the encoder's (amortised inference) and FISTA on the trained
 * decoder with the run's energy and inference settings, started from the encoder's codes, exactly
 * as a training step infers Z*.
 */
export const batchCodes = (model: SparseCodingModel, x: tf.Tensor2D): BatchCodes => {
  const zEnc = encode(model.encoder, x)
  const term = model.decoder.reconstructionTerm(x)
  try {
    return { encoder: zEnc, fista: runInference(model, term, zEnc) }
  } finally {
    term.dispose()
  }
}

export interface Codes {
  readonly encoder: Float32Array
  readonly fista: Float32Array
  readonly codeDim: number
  readonly rows: number
  readonly meanFistaSteps: number
}

/** Both kinds of codes for every row of x (rows × dim values), in evaluation batches of the run's size. */
export const inferCodes = (model: SparseCodingModel, x: Float32Array, rows: number, dim: number, label: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const l = model.settings.codeDim
      const batches = evenBatches(rows, model.settings.batchSize)
      const bar = yield* (yield* Progress).bar(label, batches.length)
      const encoder = new Float32Array(rows * l)
      const fistaCodes = new Float32Array(rows * l)
      let steps = 0
      for (const [b, [start, end]] of batches.entries()) {
        const xb = tf.tensor2d(x.subarray(start * dim, end * dim), [end - start, dim])
        const codes = batchCodes(model, xb)
        encoder.set(codes.encoder.dataSync() as Float32Array, start * l)
        fistaCodes.set(codes.fista.codes.dataSync() as Float32Array, start * l)
        steps += codes.fista.meanSteps * (end - start)
        xb.dispose()
        codes.encoder.dispose()
        codes.fista.codes.dispose()
        yield* bar.update(b + 1, `FISTA steps ${(steps / end).toFixed(1)}`)
      }
      return {
        encoder,
        fista: fistaCodes,
        codeDim: l,
        rows,
        meanFistaSteps: rows > 0 ? steps / rows : 0
      } satisfies Codes
    })
  )
