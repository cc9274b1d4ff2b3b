import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-wasm"
import { transposedConvolution } from "./src/models/decoders/conv.js"
import { registerMissingGradients } from "./src/models/decoders/gradients.js"
await tf.setBackend("wasm"); await tf.ready(); registerMissingGradients()
const x1 = tf.relu(tf.randomNormal([250, 7, 7, 4])) as tf.Tensor4D
const F1 = tf.randomNormal([4, 4, 32, 4]) as tf.Tensor4D, F2 = tf.randomNormal([4, 4, 1, 32]) as tf.Tensor4D
const run = (tc: (x: tf.Tensor4D, f: tf.Tensor4D, s: [number, number, number, number]) => tf.Tensor4D) => () => tf.tidy(() => {
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(tc(tf.relu(tc(x as tf.Tensor4D, F1, [250, 14, 14, 32])) as tf.Tensor4D, F2, [250, 28, 28, 1]))))(x1)
  g.dataSync()
})
const old = run((x, f, s) => tf.conv2dTranspose(x, f, s, 2, "same")), neu = run(transposedConvolution)
for (let r = 0; r < 3; r++) for (const [n, f] of [["conv2dTranspose", old], ["stride-1 conv", neu]] as const) { const t0 = performance.now(); f(); f(); process.stdout.write(`${n} ${((performance.now() - t0) / 2).toFixed(0)} ms\n`) }
