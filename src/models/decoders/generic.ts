import * as tf from "@tensorflow/tfjs-core"
import { gatherRows } from "../gather-rows.js"
import { readTidy } from "../read.js"
import { fixedUniforms } from "../rng.js"
import type { AtomImages, DecoderTrace, LossGradients, ReconstructionTerm } from "./decoder.js"
import { registerMissingGradients } from "./gradients.js"

/**
 * The generic path of a decoder: TensorFlow.js autodiff of its forward map, for whatever its
 * module does not compute itself (see makeDecoder).
 */

/**
 * The reconstruction term by autodiff: ∇ = ∂/∂z (1/d)Σ‖x − D(z)‖², one forward and one backward
 * pass per step. Its Lipschitz constant is estimated by power iteration on differences of the
 * gradient, which is exact where D is linear and a local estimate elsewhere.
 */
export const autodiffReconstructionTerm = (
  decodeRows: (z: tf.Tensor2D) => tf.Tensor2D,
  x: tf.Tensor2D,
  codeDim: number
): ReconstructionTerm => {
  registerMissingGradients()
  const d = x.shape[1]
  const l = codeDim
  let hostX: Float32Array | null = null
  const gradientOf = (z: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(
      () =>
        tf.grad(
          (c: tf.Tensor) => tf.div(tf.sum(tf.square(tf.sub(decodeRows(c as tf.Tensor2D), target))), d) as tf.Scalar
        )(z) as tf.Tensor2D
    )
  const gradient = (z: tf.Tensor2D) => gradientOf(z, x)
  return {
    gradient,
    gradientRows: (y, rows) => {
      const everyRowInOrder = rows.length === x.shape[0] && rows.every((r, p) => r === p)
      if (!everyRowInOrder) hostX ??= x.dataSync() as Float32Array
      return readTidy(() => {
        const target = everyRowInOrder || hostX === null ? x : tf.tensor2d(gatherRows(hostX, d, rows), [rows.length, d])
        return gradientOf(tf.tensor2d(y, [rows.length, l]), target)
      })
    },
    lipschitz: () => estimateCurvature(gradient, x.shape[0], l),
    dispose: () => {}
  }
}

/**
 * The largest curvature of a gradient map along one direction, by 30 steps of power iteration on
 * (g(z₀ + hv) − g(z₀))/h from small positive codes z₀ (where ReLU-like units are awake), with a
 * margin of 10 %. An estimate: a non-linear map's curvature elsewhere may be larger.
 */
const estimateCurvature = (gradient: (z: tf.Tensor2D) => tf.Tensor2D, rows: number, l: number): number => {
  const { next } = fixedUniforms(0x9e3779b9)
  const z0 = tf.tensor2d(
    Float32Array.from({ length: rows * l }, () => 0.1 * next()),
    [rows, l]
  )
  const g0 = gradient(z0)
  const norm2 = (a: Float32Array) => Math.sqrt(a.reduce((acc, b) => acc + b * b, 0))
  let v: Float32Array = Float32Array.from({ length: rows * l }, () => next() - 0.5)
  const h = 1e-2
  let estimate = 0
  for (let it = 0; it < 30; it++) {
    const norm = norm2(v) || 1
    const unit = Float32Array.from(v, (a) => (a / norm) * Math.sqrt(rows))
    const w = readTidy(() =>
      tf.div(tf.sub(gradient(tf.add(z0, tf.mul(tf.tensor2d(unit, [rows, l]), h)) as tf.Tensor2D), g0), h)
    )
    const previous = estimate
    estimate = norm2(w) / Math.sqrt(rows)
    v = w
    if (estimate === 0 || (it > 0 && Math.abs(estimate - previous) <= 1e-3 * estimate)) break
  }
  z0.dispose()
  g0.dispose()
  return 1.1 * estimate
}

/** The decoder's loss mean((x − D(z))²) and its gradient for every parameter, by autodiff. Must run inside a tidy. */
export const autodiffLossGradients = (
  forward: (params: Readonly<Record<string, tf.Tensor>>, z: tf.Tensor2D) => DecoderTrace,
  params: Readonly<Record<string, tf.Variable>>,
  z: tf.Tensor2D,
  x: tf.Tensor2D
): LossGradients => {
  registerMissingGradients()
  const names = Object.keys(params)
  const values = names.map((n) => params[n] as tf.Tensor)
  const loss = (...ts: tf.Tensor[]) => {
    const byName = Object.fromEntries(names.map((n, i) => [n, ts[i]]))
    return tf.mean(tf.square(tf.sub(forward(byName, z).output, x))) as tf.Scalar
  }
  const grads = tf.grads(loss)(values)
  const { output, hidden } = forward(params, z)
  return { reconstruction: output, hidden, grads: Object.fromEntries(names.map((n, i) => [n, grads[i]])) }
}

/** D(cⱼeⱼ) − D(0) for every component j, as images. */
export const differenceAtoms = (
  decodeRows: (z: tf.Tensor2D) => tf.Tensor2D,
  codeDim: number,
  scale: Float32Array
): AtomImages => ({
  images: readTidy(() => {
    const scaled = tf.mul(tf.eye(codeDim), tf.reshape(tf.tensor1d(scale), [codeDim, 1])) as tf.Tensor2D
    return tf.sub(decodeRows(scaled), decodeRows(tf.zeros([1, codeDim])))
  }),
  count: codeDim
})

/** The ℓ2 norm of each of `count` images. */
export const rowNormsOf = (images: Float32Array, count: number): Float32Array<ArrayBuffer> => {
  const width = images.length / count
  return Float32Array.from({ length: count }, (_, j) => {
    let s = 0
    for (let q = j * width; q < (j + 1) * width; q++) s += images[q] * images[q]
    return Math.sqrt(s)
  })
}
