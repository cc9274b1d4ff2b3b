/**
 * A weights-only checkpoint, as the paper plan's export writes into models/: the best epoch's
 * parameters without the optimizers' state or the run's progress. loadModel opens it and encodes
 * exactly as from the run folder; a run cannot continue from it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exportWeights } from "../../src/pipeline/paper/export.js"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"
import { pixelsOf } from "./small-run.js"

describe("a weights-only checkpoint", () => {
  it.effect(
    "written by the export from a VDL-NL trained one epoch, loads with loadModel and encodes as the run folder does",
    () =>
      Effect.gen(function* () {
        const data = yield* smallData(300)
        const root = mkdtempSync(join(tmpdir(), "weights-only-"))
        const run = join(root, "run")
        yield* trainRun(
          {
            model: "vdl-nl",
            settings: smallSettings("vdl-nl", { hidden: [32], gamma: 5 }),
            epochs: 1,
            seed: 3,
            out: run
          },
          data
        )
        const file = yield* exportWeights(run, join(root, "models", "mnist-vdl-nl-lambda0.01.safetensors"))
        const snapshot = yield* readCheckpoint(file)
        expect(snapshot.weightsOnly).toBe(true)
        expect(snapshot.progress).toBeUndefined()
        expect(Object.keys(snapshot.optimizerScalars)).toEqual([])
        // Parameters only: encoder.W, encoder.c, encoder.S and the decoder's own; no encoder.adam.m.W.
        expect(Object.keys(snapshot.tensors).every((n) => n.split(".").length === 2)).toBe(true)
        const full = yield* readCheckpoint(join(run, "checkpoint.safetensors"))
        expect(Object.keys(full.tensors).length).toBeGreaterThan(Object.keys(snapshot.tensors).length)
        expect(statSync(file).size).toBeLessThan(statSync(join(run, "checkpoint.safetensors")).size / 2)
        const card = JSON.parse(readFileSync(file.replace(/\.safetensors$/, ".json"), "utf8"))
        expect([card.model, card.epochsTrained, card.bestEpoch]).toEqual(["vdl-nl", 1, 1])

        const pixels = pixelsOf(data.val, 20)
        const before = tf.memory().numTensors
        const [fromFile, fromRun] = yield* Effect.scoped(
          Effect.gen(function* () {
            const a = yield* loadModel(file)
            const b = yield* loadModel(run)
            expect(a.variant).toBe("vdl-nl")
            return [yield* a.encode(pixels), yield* b.encode(pixels)] as const
          })
        )
        expect(tf.memory().numTensors).toBe(before)
        expect(fromFile.length).toBe(20 * 16)
        expect(fromFile.some((v) => v > 0)).toBe(true)
        expect(Array.from(fromFile)).toEqual(Array.from(fromRun))
      }).pipe(Effect.provide(env()))
  )
})
