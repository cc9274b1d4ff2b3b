/**
 * The input space of a checkpoint: what it records, or for checkpoints written before it was
 * recorded, what its run's description implies.
 */
import { Effect, Either, Schema } from "effect"
import type { Snapshot } from "../train/checkpoint.js"
import { mnistNormalization } from "../sources/mnist-normalization.js"
import { InputSpace, inputSpaceProblem, lcnOfPatchMetadata } from "../sources/normalization.js"
import { LoadModelError } from "./errors.js"

/** An input space and, when it was inferred for a checkpoint that does not record one, a phrase saying from what. */
export interface ResolvedInputSpace {
  readonly space: InputSpace
  readonly assumed: string | null
}

/**
 * `given` (checked against the model's input size), else the checkpoint's own record; for a
 * checkpoint of format 1: LCN with the patch file's settings for a patch run, MNIST's
 * (p − 0.1307)/0.3081 on 28×28 images for a 784-wide run that is not one. Anything else fails,
 * asking for `given`.
 */
export const resolveInputSpace = (
  snapshot: Snapshot,
  file: string,
  given?: unknown
): Effect.Effect<ResolvedInputSpace, LoadModelError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new LoadModelError({ path: file, problem }))
    if (given !== undefined) {
      const decoded = Schema.decodeUnknownEither(InputSpace)(given)
      if (Either.isLeft(decoded))
        return yield* fail(
          `the input space given is not one (${decoded.left.message.split("\n")[0]}); give { height, width, normalization }`
        )
      const problem = inputSpaceProblem(decoded.right, snapshot.inputDim)
      if (problem !== null)
        return yield* fail(
          `the input space given ${problem}; give one that fits the model's ${snapshot.inputDim} inputs`
        )
      return { space: decoded.right, assumed: null }
    }
    if (snapshot.input !== undefined) return { space: snapshot.input, assumed: null }
    const describe = snapshot.progress?.describe ?? {}
    const side = Math.round(Math.sqrt(snapshot.inputDim))
    if (typeof describe.patchFile === "string" || describe.build !== undefined) {
      const lcn = lcnOfPatchMetadata((describe.build ?? {}) as Record<string, unknown>)
      if (lcn === null || side * side !== snapshot.inputDim) {
        return yield* fail(
          "it is a patch run written before checkpoints recorded their normalisation, and its description does not say how the local scale was floored; pass the input space (loadModel's `input`)"
        )
      }
      return {
        space: { height: side, width: side, normalization: lcn },
        assumed: `the LCN of its patch file (${describe.patchFile ?? "unnamed"}), from the run's description`
      }
    }
    if (snapshot.inputDim === 784) {
      return {
        space: { height: 28, width: 28, normalization: mnistNormalization },
        assumed: "MNIST's normalisation, (p − 0.1307)/0.3081 on 28×28 images"
      }
    }
    return yield* fail(
      `it records no normalisation (it was written before checkpoints did) and its ${snapshot.inputDim} inputs are not MNIST's 784; pass the input space (loadModel's \`input\`: { height, width, normalization })`
    )
  })
