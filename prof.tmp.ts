import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-wasm"
import { conv } from "./src/models/decoders/conv.js"
import { makeDecoder, geometryOf } from "./src/models/decoders/decoder.js"
import { tfjsLinalg } from "./src/models/linalg.js"
await tf.setBackend("wasm"); await tf.ready()
let seed = 1; const rng = { next: () => (seed = (seed * 16807) % 2147483647) / 2147483647 }
const s = { codeDim: 196, hidden: [32], activation: "relu" as const, unitNormAtoms: false }
const d = makeDecoder(conv, s, geometryOf(196, 784), rng, tfjsLinalg)
const x = tf.randomNormal([250, 784]) as tf.Tensor2D
const z = tf.relu(tf.randomNormal([250, 196])) as tf.Tensor2D
const term = d.reconstructionTerm(x)
const y = z.dataSync() as Float32Array; const rows = Int32Array.from({length: 250}, (_, i) => i)
for (const [name, f] of [["decode", () => d.decode(z).dispose()], ["gradientRows", () => term.gradientRows(y, rows)], ["lossGradients", () => tf.tidy(() => { d.lossGradients(z, x) })]] as const) {
  f(); const t0 = performance.now(); for (let i = 0; i < 2; i++) f(); process.stdout.write(`${name} ${((performance.now() - t0) / 2).toFixed(1)} ms\n`)
}
const p = await tf.profile(() => term.gradientRows(y, rows)); const by = new Map<string, number>(); for (const k of p.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number)); process.stdout.write(JSON.stringify([...by].sort((a, b) => b[1] - a[1]).slice(0, 8)) + "\n")
