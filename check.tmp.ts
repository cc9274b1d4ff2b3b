import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-wasm"
import { transposedConvolution } from "./src/models/decoders/conv.js"
await tf.setBackend("wasm"); await tf.ready()
for (const [h, ci, co] of [[7, 4, 8], [14, 8, 1], [3, 2, 5]]) {
  const x = tf.randomNormal([3, h, h, ci]) as tf.Tensor4D
  const F = tf.randomNormal([4, 4, co, ci]) as tf.Tensor4D
  const ref = tf.conv2dTranspose(x, F, [3, 2 * h, 2 * h, co], 2, "same")
  const got = transposedConvolution(x, F, [3, 2 * h, 2 * h, co])
  console.log(h, ci, co, tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0], tf.max(tf.abs(ref)).dataSync()[0])
}
