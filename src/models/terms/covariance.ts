import * as tf from "@tensorflow/tfjs-core"
import { gatherRows } from "../gather-rows.js"
import type { Linalg } from "../linalg.js"
import { readTidy } from "../read.js"
import { covarianceDeclaration } from "./covariance.declaration.js"
import { termKind } from "./term.js"

/**
 * (ν/l) Σ_{j≠k} C_jk², C = Z̄ᵀZ̄/(N−1) the codes' covariance over the batch (Z̄ the centred codes):
 * the decorrelation penalty of VICReg (Bardes, Ponce & LeCun 2022), which the paper does not use.
 * It pushes code components to carry different information, where the variance hinge only keeps
 * each of them alive.
 *
 * Its gradient is (4ν/(l(N−1))) Z̄·offdiag(C); the centring drops out because Z̄'s columns sum to
 * zero. Its curvature grows with the covariance itself, so it has no fixed Lipschitz bound: the
 * step 1/L leaves it out, and a fixed step (the presets') is the safe choice with this term.
 */
const offDiagonalCovariance = (z: tf.Tensor2D): { centred: tf.Tensor2D; offDiagonal: tf.Tensor2D } => {
  const [n, l] = z.shape
  const centred = tf.sub(z, tf.mean(z, 0)) as tf.Tensor2D
  // An explicit transpose: the transpose flags of matMul are ten times slower on wasm.
  const cov = tf.div(tf.matMul(tf.transpose(centred), centred), Math.max(n - 1, 1)) as tf.Tensor2D
  return { centred, offDiagonal: tf.mul(cov, tf.sub(1, tf.eye(l))) as tf.Tensor2D }
}

/** C = A·B on host arrays, row-major, A m×k and B k×n. */
const product = (linalg: Linalg, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array =>
  linalg.hostGemm?.(a, b, m, k, n) ?? readTidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])))

export const covariance = termKind({
  ...covarianceDeclaration,
  make: ({ covariance: nu }) => {
    if (nu === 0) return null
    const gradient = (z: tf.Tensor2D) =>
      tf.tidy(() => {
        const [n, l] = z.shape
        const { centred, offDiagonal } = offDiagonalCovariance(z)
        return tf.mul(tf.matMul(centred, offDiagonal), (4 * nu) / (l * Math.max(n - 1, 1))) as tf.Tensor2D
      })
    return {
      name: "covariance",
      value: (z) => tf.mul(tf.sum(tf.square(offDiagonalCovariance(z).offDiagonal)), nu / z.shape[1]) as tf.Scalar,
      gradient,
      lipschitz: () => 0,
      // On host arrays: centring and the diagonal on the host and two products, by the native
      // BLAS when one is loaded; no elementwise tensor operation, each of which costs about as
      // much as a product on wasm.
      host: {
        kind: "general",
        addTo: (y, _zEnc, n, l, liveRows, g, linalg) => {
          const mean = new Float64Array(l)
          for (let i = 0, q = 0; i < n; i++) for (let j = 0; j < l; j++, q++) mean[j] += y[q]
          for (let j = 0; j < l; j++) mean[j] /= n
          const centred = new Float32Array(n * l)
          const centredT = new Float32Array(n * l)
          for (let i = 0, q = 0; i < n; i++) {
            for (let j = 0; j < l; j++, q++) {
              const v = y[q] - mean[j]
              centred[q] = v
              centredT[j * n + i] = v
            }
          }
          const cov = product(linalg, centredT, centred, l, n, l)
          const scale = (4 * nu) / (l * Math.max(n - 1, 1) * Math.max(n - 1, 1))
          for (let j = 0; j < l; j++) for (let k = 0; k < l; k++) cov[j * l + k] = j === k ? 0 : cov[j * l + k] * scale
          const live = liveRows.length === n ? centred : gatherRows(centred, l, liveRows)
          const step = product(linalg, live, cov, liveRows.length, l, l)
          for (let q = 0; q < step.length; q++) g[q] += step[q]
        }
      }
    }
  }
})
