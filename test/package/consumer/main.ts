/**
 * A program of a project that depends on sparse-vdl, compiled there with the strictest options
 * and run by plain node (test/package/pack.test.ts copies this folder into a fresh project). It trains VDL through
 * the Promise facade on rows drawn from a known sparse dictionary, loads the run folder back, encodes
 * and reconstructs rows it has never seen, and checks the outcome itself.
 */
import * as tf from "@tensorflow/tfjs-core"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { type Dataset, datasetFromRows } from "sparse-vdl"
import { loadModel, train } from "sparse-vdl/promise"

const out = process.argv[2]
if (out === undefined) throw new Error("usage: node main.js RUN_FOLDER")

const dim = 64
const atoms = 12

/** A small linear congruential generator: the data are the same on every run. */
let state = 12345
const uniform = (): number => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return state / 2 ** 32
}

/** Non-negative atoms; each row mixes three of them, scaled into [0, 1] pixels. */
const dictionary = Array.from({ length: atoms }, () =>
  Float32Array.from({ length: dim }, () => (uniform() < 0.3 ? uniform() : 0))
)
const rowsOf = (count: number, name: string): Dataset => {
  const x = new Float32Array(count * dim)
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < 3; k++) {
      const atom = dictionary[Math.floor(uniform() * atoms)]!
      const weight = 0.2 + 0.3 * uniform()
      for (let p = 0; p < dim; p++) x[i * dim + p]! += weight * atom[p]!
    }
  }
  for (let j = 0; j < x.length; j++) x[j] = Math.min(1, x[j]!)
  return datasetFromRows(x, dim, { name })
}
const data = { train: rowsOf(2000, "train"), val: rowsOf(200, "val"), test: rowsOf(200, "test") }

/** The PSNR of the best constant guess (the training mean): a model must do better than that. */
const meanImagePsnr = (() => {
  const mean = new Float64Array(dim)
  for (let i = 0; i < data.train.rows; i++)
    for (let p = 0; p < dim; p++) mean[p]! += data.train.x[i * dim + p]! / data.train.rows
  let sum = 0
  for (let i = 0; i < data.test.rows; i++) {
    let se = 0
    for (let p = 0; p < dim; p++) se += (data.test.x[i * dim + p]! - mean[p]!) ** 2
    sum += 10 * Math.log10(1 / (se / dim))
  }
  return sum / data.test.rows
})()

const summary = await train({
  model: "vdl",
  settings: { codeDim: 32, batchSize: 25, decoderLr: 3e-3, encoderLr: 1e-3 },
  data,
  epochs: 2,
  seed: 7,
  out,
  log: "warning"
})

/** New rows, drawn after training: the loaded model encodes and reconstructs them. */
const fresh = rowsOf(100, "fresh")
const model = await loadModel(out)
const codes = await model.encode(fresh.x)
const reconstructed = await model.reconstruct(fresh.x)
await model.close()
let freshPsnr = 0
for (let i = 0; i < fresh.rows; i++) {
  let se = 0
  for (let p = 0; p < dim; p++) se += (fresh.x[i * dim + p]! - reconstructed[i * dim + p]!) ** 2
  freshPsnr += (10 * Math.log10(1 / Math.max(se / dim, 1e-12))) / fresh.rows
}

const testPsnr = summary.test?.psnr ?? NaN
const report = {
  psnr: testPsnr,
  freshPsnr,
  codes: codes.length,
  meanImagePsnr,
  epochs: summary.epochs,
  backend: summary.backend,
  liveTensors: tf.memory().numTensors,
  files: ["summary.json", "metrics.arrow", "checkpoint.safetensors", "last.safetensors"].filter((f) =>
    existsSync(join(out, f))
  )
}
console.log(JSON.stringify(report))
// Said and set as the exit status rather than thrown: the wasm backend's handler of uncaught
// exceptions would print its own minified source around the message.
const problems = [
  ...(testPsnr > meanImagePsnr + 3
    ? []
    : [`test PSNR ${testPsnr} dB is not 3 dB above the mean image's ${meanImagePsnr} dB`]),
  ...(freshPsnr > meanImagePsnr + 3
    ? []
    : [`the loaded model's PSNR on new rows, ${freshPsnr} dB, is not 3 dB above the mean image's ${meanImagePsnr} dB`]),
  ...(codes.length === fresh.rows * 32
    ? []
    : [`encode gave ${codes.length} values for ${fresh.rows} rows of 32 codes`]),
  ...(report.liveTensors === 0 ? [] : [`${report.liveTensors} tensors are still allocated after training and loading`])
]
for (const p of problems) console.error(p)
if (problems.length > 0) process.exitCode = 1
