/**
 * A training process reduced to what matters for crash safety: a real training step, then both
 * checkpoints written as a run writes them, in a loop until it is killed. The SIGKILL test starts
 * it and kills it at random moments. It prints "begin N" before and "end N" after each write.
 *   node --import tsx test/reliability/checkpoint-writer.ts FOLDER
 */
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Effect } from "effect"
import { join } from "node:path"
import { writeFileAtomic } from "../../src/data/atomic-write.js"
import { makeModel, trainStep } from "../../src/models/model.js"
import { normalArray } from "../../src/models/rng.js"
import { variants } from "../../src/models/variants.js"
import { encodeSnapshot, snapshotModel } from "../../src/pipeline/train/checkpoint.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"

const folder = process.argv[2]
if (folder === undefined) throw new Error("usage: checkpoint-writer.ts FOLDER")

await tf.setBackend("cpu")
const settings = { ...variants.sdl.settings.mnist, codeDim: 96, batchSize: 8, maxSteps: 2 }
const model = makeModel(settings, 784, rngFor(1, "init"))
const rng = rngFor(1, "noise")
for (let n = 1; ; n++) {
  tf.tidy(() => {
    trainStep(model, tf.tensor2d(normalArray(rng, 8 * 784), [8, 784]), 0, (x) => x)
  })
  const bytes = encodeSnapshot(snapshotModel(model, "sdl", n - 1))
  process.stdout.write(`begin ${n}\n`)
  await Effect.runPromise(
    Effect.all([
      writeFileAtomic(join(folder, "last.safetensors"), bytes),
      writeFileAtomic(join(folder, "checkpoint.safetensors"), bytes)
    ])
  )
  process.stdout.write(`end ${n}\n`)
}
