import * as tf from "@tensorflow/tfjs-core"
import { encoderDistanceDeclaration } from "./encoder-distance.declaration.js"
import { termKind } from "./term.js"

/**
 * (γ/l)‖z − E(x)‖², summed over rows: keeps the codes close to the encoder's prediction, which is
 * what makes the encoder a useful warm start and an amortised inference.
 */
export const encoderDistance = termKind({
  ...encoderDistanceDeclaration,
  make: ({ gamma }) =>
    gamma === 0
      ? null
      : {
          name: "encoder",
          value: (z, zEnc) => tf.mul(tf.sum(tf.square(tf.sub(z, zEnc))), gamma / z.shape[1]) as tf.Scalar,
          gradient: (z, zEnc) => tf.mul(tf.sub(z, zEnc), (2 * gamma) / z.shape[1]) as tf.Tensor2D,
          lipschitz: (_rows, codeDim) => (2 * gamma) / codeDim,
          host: {
            kind: "affine",
            accumulate: (_moments, codeDim, c) => {
              const weight = (2 * gamma) / codeDim
              for (let j = 0; j < codeDim; j++) c.slope[j] += weight
              c.encoderWeight += weight
            }
          }
        }
})
