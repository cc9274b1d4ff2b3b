import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readArrowIpc } from "../../src/data/table.js"
import { variants } from "../../src/models/variants.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import { scopedModel } from "../../src/pipeline/backend/resources.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { evaluate } from "../../src/pipeline/train/epoch.js"
import { env, smallData } from "../helpers/mnist-runs.js"

describe("decoders with several hidden layers", () => {
  it.effect.each(["vdl-nl", "wdl-nl"] as const)(
    "%s with --hidden 48,32 trains: finite figures, energy below the untrained model's and falling, no tensor left behind",
    (model) =>
      Effect.gen(function* () {
        const data = yield* smallData(500)
        // The command line's parsing of --hidden 48,32 gives this list; γ is lowered with l.
        const settings = yield* resolveSettings(model, "mnist", {
          hidden: [48, 32],
          codeDim: 16,
          batchSize: 50,
          decoderLr: 1e-3,
          encoderLr: 1e-3,
          gamma: Math.min(variants[model].settings.mnist.gamma, 5)
        })
        const out = mkdtempSync(join(tmpdir(), "deep-"))
        const before = tf.memory().numTensors
        const summary = yield* trainRun({ model, settings: { ...settings, epochs: 3 }, epochs: 3, seed: 3, out }, data)
        expect(tf.memory().numTensors).toBe(before)
        expect(summary.settings).toMatchObject({ hidden: [48, 32] })
        for (const split of [summary.val, summary.test!]) {
          expect(Number.isFinite(split.psnr) && Number.isFinite(split.energy)).toBe(true)
          expect(split.hiddenZeroFraction).not.toBeNull()
        }
        const untrained = yield* Effect.scoped(
          Effect.flatMap(scopedModel(settings, 784, rngFor(3, "init")), (m) => evaluate(m, data.val))
        )
        expect(summary.val.energy).toBeLessThan(untrained.energy)
        const perEpoch = readArrowIpc(new Uint8Array(readFileSync(join(out, "metrics.arrow"))))
        expect(Number(perEpoch[2].trainEnergy)).toBeLessThan(Number(perEpoch[0].trainEnergy))
      }).pipe(Effect.provide(env()))
  )
})
