import * as tf from "@tensorflow/tfjs-core"
import { termKind } from "./term.js"
import { varianceHingeDeclaration } from "./variance-hinge.declaration.js"

/** Unbiased standard deviation of each column over the rows of the batch. */
export const columnStd = (z: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const n = z.shape[0]
    const centred = tf.sub(z, tf.mean(z, 0))
    return tf.sqrt(tf.div(tf.sum(tf.square(centred), 0), Math.max(n - 1, 1))) as tf.Tensor1D
  })

/**
 * β Σⱼ max(0, τ − σⱼ)², σⱼ the standard deviation of code component j over the batch: the
 * paper's regulariser, which keeps every component in use without constraining the decoder.
 */
export const varianceHinge = termKind({
  ...varianceHingeDeclaration,
  make: ({ beta, tau }) => {
    if (beta === 0) return null
    return {
      name: "variance",
      value: (z) => tf.mul(tf.sum(tf.square(tf.relu(tf.sub(tau, columnStd(z))))), beta) as tf.Scalar,
      // Where a column has σⱼ = 0 the gradient is taken as 0, the subgradient PyTorch's norm uses,
      // so a dead component is not pushed in an arbitrary direction.
      gradient: (z) => {
        const n = z.shape[0]
        const centred = tf.sub(z, tf.mean(z, 0))
        const std = tf.sqrt(tf.div(tf.sum(tf.square(centred), 0), Math.max(n - 1, 1)))
        const hinge = tf.relu(tf.sub(tau, std))
        const safeStd = tf.maximum(std, 1e-12)
        const scale = tf.where(tf.greater(std, 0), tf.div(tf.mul(hinge, (-2 * beta) / Math.max(n - 1, 1)), safeStd), 0)
        return tf.mul(centred, scale) as tf.Tensor2D
      },
      // The hinge's curvature is unbounded near σ = 0; 2β/(N−1) is the usual estimate.
      lipschitz: (rows) => (2 * beta) / Math.max(rows - 1, 1),
      // Per column the gradient is sⱼ(yᵢⱼ − μⱼ) with sⱼ = −2β(τ − σⱼ)/((N−1)σⱼ) while 0 < σⱼ < τ.
      host: {
        kind: "affine",
        accumulate: ({ rows: n, sum, sumOfSquares }, l, c) => {
          const dof = Math.max(n - 1, 1)
          for (let j = 0; j < l; j++) {
            const mean = sum[j] / n
            const std = Math.sqrt(Math.max(0, sumOfSquares[j] - n * mean * mean) / dof)
            const s = std > 0 && std < tau ? (-2 * beta * (tau - std)) / (dof * std) : 0
            c.slope[j] += s
            c.offset[j] += s * mean
          }
        }
      }
    }
  }
})
