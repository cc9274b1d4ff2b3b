/**
 * The gradient functions src/models/decoders/gradients.ts registers for Node, against
 * TensorFlow.js's own: the same function differentiated with tfjs's registered gradients and then
 * with ours in their place. On the cpu backend, which has the Conv2DBackpropFilter kernel that
 * tfjs's own filter gradient needs.
 */
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
// Autograd's reference gradients, replaced one by one with ours below.
import "@tensorflow/tfjs-core/dist/register_all_gradients"
import { beforeAll, describe, it } from "vitest"
import { decoderGradients } from "../../src/models/decoders/gradients.js"
import { expectClose, gaussian, seeded, toFlat } from "../helpers/tf.js"

beforeAll(async () => {
  await tf.setBackend("cpu")
  await tf.ready()
})

/**
 * A loss that runs every kernel we register: transposed convolutions, a stride-1 convolution of a
 * padded map by a turned and transposed kernel, biases, each activation, a product, sums and means.
 */
const loss = (
  code: tf.Tensor,
  f1: tf.Tensor,
  bias: tf.Tensor,
  f2: tf.Tensor,
  w: tf.Tensor,
  target: tf.Tensor
): tf.Scalar => {
  const n = code.shape[0]
  let h = tf.conv2dTranspose(tf.reshape(code, [n, 2, 3, 2]) as tf.Tensor4D, f1 as tf.Tensor4D, [n, 4, 6, 3], 2, "same")
  h = tf.add(tf.tanh(h), tf.softplus(tf.add(h, bias))) as tf.Tensor4D
  h = tf.relu(tf.sub(h, 0.5)) as tf.Tensor4D
  const turned = tf.transpose(tf.reverse(f2, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D
  const same = tf.conv2d(
    tf.pad(h, [
      [0, 0],
      [2, 1],
      [1, 2],
      [0, 0]
    ]) as tf.Tensor4D,
    turned,
    1,
    "valid"
  )
  const image = tf.conv2dTranspose(h, f2 as tf.Tensor4D, [n, 8, 12, 1], 2, "same")
  const rows = tf.reshape(image, [n, 96]) as tf.Tensor2D
  const mixed = tf.matMul(rows, w as tf.Tensor2D)
  const r = tf.sub(mixed, target)
  return tf.addN([tf.div(tf.sum(tf.square(r)), 7), tf.mul(tf.mean(tf.neg(r)), 3), tf.sum(tf.square(same))]) as tf.Scalar
}

describe("our gradient functions", () => {
  it("give tfjs's own gradients, the transposed convolution's filter gradient included", () => {
    const rng = seeded(12)
    const n = 3
    const inputs = [
      tf.tensor2d(gaussian(rng, n, 12), [n, 12]),
      tf.tensor4d(gaussian(rng, 1, 4 * 4 * 3 * 2, 0.5), [4, 4, 3, 2]),
      tf.tensor1d(gaussian(rng, 1, 3, 0.5)),
      tf.tensor4d(gaussian(rng, 1, 4 * 4 * 1 * 3, 0.5), [4, 4, 1, 3]),
      tf.tensor2d(gaussian(rng, 96, 5, 0.2), [96, 5]),
      tf.tensor2d(gaussian(rng, n, 5), [n, 5])
    ]
    const differentiate = () =>
      tf.tidy(() =>
        tf
          .grads((...xs: tf.Tensor[]) => loss(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]))(inputs)
          .map(toFlat)
      )
    const theirs = differentiate()
    for (const config of decoderGradients) {
      tf.unregisterGradient(config.kernelName)
      tf.registerGradient(config)
    }
    const ours = differentiate()
    const names = ["code", "filter 1", "bias", "filter 2", "product weight", "target"]
    theirs.forEach((t, i) => expectClose(ours[i], t, 1e-5, 1e-6, `∂/∂${names[i]}`))
    inputs.forEach((t) => t.dispose())
  })
})
