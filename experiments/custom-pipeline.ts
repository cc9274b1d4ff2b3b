/**
 * A pipeline assembled in code from the library's stages, with another data source and an extra
 * metric stage: data drawn from a known sparse dictionary, an SDL model trained on it with the
 * library's training loop, and a hook of our own that measures after each epoch how many of the
 * true atoms the decoder recovered (up to permutation and scale), as columns of the epoch's row.
 *   npx tsx experiments/custom-pipeline.ts [--epochs 15] [--seed 7]
 */
import { Command, Options } from "@effect/cli"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { SparseCodingModel } from "../src/models/model.js"
import { variants } from "../src/models/variants.js"
import { BackendLive } from "../src/pipeline/backend/backend.js"
import type { Dataset } from "../src/pipeline/sources/dataset.js"
import { commandCli, runCli } from "../src/cli/entry.js"
import { trainingLoop } from "../src/pipeline/train/loop.js"
import { rngFor } from "../src/pipeline/train/seeds.js"

const dim = 64
const atoms = 24

/** Data source: rows x = Σ cⱼaⱼ with 3 active atoms per row, non-negative weights, a little noise. */
const syntheticSource = (seed: number, rows: number) =>
  Effect.sync(() => {
    const rng = rngFor(seed, "split")
    const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next())
    const dictionary = new Float32Array(atoms * dim).map(gauss)
    for (let j = 0; j < atoms; j++) {
      const row = dictionary.subarray(j * dim, (j + 1) * dim)
      const norm = Math.hypot(...row)
      row.forEach((v, i) => (row[i] = v / norm))
    }
    const x = new Float32Array(rows * dim)
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < 3; k++) {
        const j = rng.int(atoms)
        const c = 1 + rng.next()
        for (let p = 0; p < dim; p++) x[i * dim + p] += c * dictionary[j * dim + p]
      }
      for (let p = 0; p < dim; p++) x[i * dim + p] += 0.01 * gauss()
    }
    const dataset = (name: string, from: number, to: number): Dataset => ({
      name,
      x: x.subarray(from * dim, to * dim),
      rows: to - from,
      dim,
      height: 8,
      width: 8,
      labels: null,
      // PSNR is computed on values mapped to [0, 1]; this data lives in about [−3, 3].
      toPixels: (t) => tf.tidy(() => tf.div(tf.add(t, 3), 6))
    })
    const train = Math.floor(rows * 0.8)
    return { dictionary, train: dataset("train", 0, train), val: dataset("val", train, rows) }
  })

/** The extra metric stage: fraction of true atoms whose best-matching learned atom has |cos| > 0.9. */
const atomRecovery = (model: SparseCodingModel, truth: Float32Array) =>
  Effect.sync(() =>
    tf.tidy(() => {
      const unit = (m: tf.Tensor2D) => tf.div(m, tf.norm(m, "euclidean", 1, true))
      const learned = unit(model.decoder.params.W1 as tf.Tensor as tf.Tensor2D)
      const known = unit(tf.tensor2d(truth, [atoms, dim]))
      const best = Array.from(tf.max(tf.abs(tf.matMul(known, tf.transpose(learned))), 1).dataSync())
      return {
        atomsRecovered: best.filter((c) => c > 0.9).length / atoms,
        meanBestCosine: best.reduce((a, b) => a + b, 0) / atoms
      }
    })
  )

const command = Command.make(
  "custom-pipeline",
  {
    epochs: Options.integer("epochs").pipe(Options.withDefault(15)),
    seed: Options.integer("seed").pipe(Options.withDefault(7))
  },
  ({ epochs, seed }) =>
    Effect.scoped(
      Effect.gen(function* () {
        const data = yield* syntheticSource(seed, 5000)
        const settings = {
          ...variants.sdl.settings.mnist,
          codeDim: atoms,
          batchSize: 100,
          decoderLr: 3e-3,
          encoderLr: 1e-3,
          epochs
        }
        // The loop trains and validates; our metric stage is a hook, and its figures are columns of the epoch's row.
        const run = yield* trainingLoop(
          {
            model: "sdl",
            settings,
            epochs,
            seed,
            hooks: [
              {
                onEpoch: ({ model, epoch, train, val }) =>
                  atomRecovery(model, data.dictionary).pipe(
                    Effect.tap((recovery) =>
                      Effect.logInfo(
                        `epoch ${epoch + 1}: train energy ${train.energy.toFixed(3)}, val zeros ${val.zeroFraction.toFixed(3)}, ` +
                          `atoms recovered ${(100 * recovery.atomsRecovered).toFixed(0)}% (mean best |cos| ${recovery.meanBestCosine.toFixed(3)})`
                      )
                    )
                  )
              }
            ]
          },
          data
        )
        const last = run.rows[run.rows.length - 1]
        yield* Effect.logInfo(
          `after ${epochs} epochs: ${(100 * Number(last.atomsRecovered)).toFixed(0)}% of the true atoms recovered`
        )
      })
    ).pipe(Effect.provide(BackendLive()))
)

runCli(commandCli(command, "custom-pipeline"))
