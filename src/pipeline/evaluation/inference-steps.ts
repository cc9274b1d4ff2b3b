/**
 * How inference methods fare on a trained model's decoder: each method infers the same batches
 * from the encoder's codes, with the model's energy, step and tolerance, and reports its steps per
 * row, how many rows ran to the step limit, the energy it reached and its time. For choosing a
 * method for a decoder that has grown past what its preset's step handles.
 */
import * as tf from "@tensorflow/tfjs-core"
import { energy } from "../../models/energy.js"
import { inferenceByName, type InferenceName } from "../../models/inference/registry.js"
import type { SparseCodingModel } from "../../models/model.js"
import { batchCodes, evenBatches } from "./codes.js"

export interface InferenceSteps {
  readonly inference: InferenceName
  readonly rows: number
  readonly meanSteps: number
  /** Rows that ran to the step limit (settings.maxSteps) without freezing. */
  readonly rowsAtLimit: number
  readonly maxSteps: number
  /** Mean over batches of F(z) per row, every term of the model's energy included. */
  readonly energy: number
  readonly milliseconds: number
}

/** Each method on the first `rows` rows of x (normalised, rows × inputDim), in the model's batches. */
export const compareInference = (
  model: SparseCodingModel,
  x: Float32Array,
  rows: number,
  methods: ReadonlyArray<InferenceName>
): InferenceSteps[] => {
  const dim = model.inputDim
  const batches = evenBatches(rows, model.settings.batchSize)
  return methods.map((name) => {
    const withMethod: SparseCodingModel = {
      ...model,
      composition: { ...model.composition, inference: inferenceByName(name) }
    }
    let steps = 0
    let atLimit = 0
    let worst = 0
    let total = 0
    const started = performance.now()
    for (const [start, end] of batches) {
      tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(start * dim, end * dim), [end - start, dim])
        const { encoder, fista } = batchCodes(withMethod, xb)
        for (const s of fista.stepsPerRow) {
          steps += s
          worst = Math.max(worst, s)
          if (s >= model.settings.maxSteps) atLimit++
        }
        total += energy(model.decoder, xb, fista.codes, encoder, model.composition.energy).total / (end - start)
      })
    }
    return {
      inference: name,
      rows,
      meanSteps: steps / rows,
      rowsAtLimit: atLimit,
      maxSteps: worst,
      energy: total / batches.length,
      milliseconds: performance.now() - started
    }
  })
}
