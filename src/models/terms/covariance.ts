import * as tf from "@tensorflow/tfjs-core"
import { OptionalWeight } from "./fields.js"
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

export const covariance = termKind({
  name: "covariance",
  description: "(ν/l) Σ_{j≠k} C_jk², VICReg's penalty on the off-diagonal batch covariance of the codes",
  fields: { covariance: OptionalWeight },
  docs: { covariance: { label: "ν (covariance)", help: "covariance (decorrelation) penalty weight ν, 0 off", cli: "number" } },
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
      host: {
        kind: "general",
        addTo: (y, _zEnc, n, l, liveRows, g) => {
          const full = tf.tidy(() => gradient(tf.tensor2d(y, [n, l])).dataSync() as Float32Array)
          for (let p = 0; p < liveRows.length; p++) {
            const from = liveRows[p] * l
            const to = p * l
            for (let j = 0; j < l; j++) g[to + j] += full[from + j]
          }
        }
      }
    }
  }
})
