/**
 * The estimator API as a project that depends on sparse-vdl uses it, compiled there under the
 * strict options and run by plain node (test/package/pack.test.ts): fit on 600 synthetic 8×8
 * images with a validation fraction, then transform, inverseTransform, score, partialFit, save,
 * loadModel and transform again, whose codes must equal the saved model's. It prints one JSON
 * line and sets the exit status from its own checks.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fit as fitModel, loadModel } from "sparse-vdl/promise"

/** A small linear congruential generator: the images are the same on every run. */
let state = 2024
const uniform = (): number => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return state / 2 ** 32
}

/** Ten non-negative 8×8 atoms; each image is three of them, weighted, clipped into [0, 1]. */
const atoms = Array.from({ length: 10 }, () => Array.from({ length: 64 }, () => (uniform() < 0.3 ? uniform() : 0)))
const images: number[][] = Array.from({ length: 600 }, () => {
  const image = new Array<number>(64).fill(0)
  for (let k = 0; k < 3; k++) {
    const atom = atoms[Math.floor(uniform() * atoms.length)] ?? []
    const weight = 0.2 + 0.3 * uniform()
    atom.forEach((value, p) => {
      image[p] = Math.min(1, (image[p] ?? 0) + weight * value)
    })
  }
  return image
})

const model = await fitModel(images, {
  model: "sdl",
  epochs: 3,
  seed: 1,
  validationFraction: 0.1,
  settings: { codeDim: 32, batchSize: 50, lambda: 0.002 },
  log: "warning"
})
const codes = await model.transform(images)
const reconstructed = await model.inverseTransform(codes)
const score = await model.score(images)
const streamed = await model.partialFit(images.slice(0, 100))
const after = await model.transform(images)
const dir = mkdtempSync(join(tmpdir(), "consumer-fit-"))
await model.save(dir)
const loaded = await loadModel(dir)
const again = await loaded.transform(images)
const equal = again.length === after.length && again.every((v, i) => v === after[i])

const report = {
  rows: model.report.rows,
  bestEpoch: model.report.bestEpoch,
  codes: codes.length,
  reconstructed: reconstructed.length,
  components: model.components.length,
  score,
  partialFitEnergy: streamed.energy,
  equalAfterLoad: equal
}
await loaded.dispose()
await model.dispose()
console.log(JSON.stringify(report))
const problems = [
  ...(codes.length === 600 * 32 ? [] : [`transform gave ${codes.length} values for 600 rows of 32 codes`]),
  ...(reconstructed.length === 600 * 64
    ? []
    : [`inverseTransform gave ${reconstructed.length} values for 600 images of 64 pixels`]),
  ...(score.psnr > 15 ? [] : [`score's PSNR ${score.psnr} dB is not above 15 dB`]),
  ...(score.zeroFraction > 0 && score.zeroFraction < 1
    ? []
    : [`score's zero fraction ${score.zeroFraction} is not between 0 and 1`]),
  ...(Number.isFinite(streamed.energy) ? [] : ["partialFit's energy is not finite"]),
  ...(equal ? [] : ["the loaded model's codes differ from the saved model's"])
]
for (const p of problems) console.error(p)
if (problems.length > 0) process.exitCode = 1
