import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readArrowIpc } from "../../src/data/table.js"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { Backend } from "../../src/pipeline/backend/backend.js"
import { readCheckpoint, restoreSnapshot } from "../../src/pipeline/train/checkpoint.js"
import { scopedModel } from "../../src/pipeline/backend/resources.js"
import { type RunSummary, trainRun } from "../../src/pipeline/train/run.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { evaluate, trainEpoch } from "../../src/pipeline/train/epoch.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"

describe("training run", () => {
  it.effect("writes a complete run folder whose checkpoint loads back to the same metrics", () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      const out = mkdtempSync(join(tmpdir(), "run-"))
      const settings = smallSettings("vdl-nl", { hidden: [32], gamma: 5 })
      const before = tf.memory().numTensors
      const summary: RunSummary = yield* trainRun({ model: "vdl-nl", settings, epochs: 2, seed: 3, out }, data)
      expect(tf.memory().numTensors).toBe(before)

      const files = [
        "summary.json",
        "metrics.arrow",
        "metrics.csv",
        "checkpoint.safetensors",
        "decoder-columns.png",
        "decoder-atoms.png",
        "atoms.arrow",
        "atoms.csv",
        "reconstructions.png",
        "psnr.svg",
        "columns/epoch-001.png",
        "columns/epoch-002.png"
      ]
      for (const f of files) {
        expect(existsSync(join(out, f)), f).toBe(true)
      }
      const written = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
      expect(written).toMatchObject({ model: "vdl-nl", backend: "wasm", epochs: 2 })
      for (const split of ["val", "test"]) {
        for (const key of ["psnr", "zeroFraction", "energy", "hiddenZeroFraction"])
          expect(Number.isFinite(written[split][key]), `${split}.${key}`).toBe(true)
      }
      expect(written.bestEpoch).toBeGreaterThanOrEqual(1)
      expect(written.meanFistaSteps).toBeGreaterThan(0)
      const rows = readArrowIpc(new Uint8Array(readFileSync(join(out, "metrics.arrow"))))
      expect(rows.map((r) => r.epoch)).toEqual([1, 2])
      // The shape figures describe the decoder at the end of each epoch, as the columns/ pictures show it.
      for (const r of rows) {
        for (const k of ["columnsEdgeLikeFraction", "columnsMedianOrientedness", "columnsMedianLocalisation"]) {
          expect(r[k], k).toBeGreaterThanOrEqual(0)
          expect(r[k], k).toBeLessThanOrEqual(1)
        }
      }
      // One row per code component, its atom's shape as decoder-atoms.png shows it.
      const atoms = readArrowIpc(new Uint8Array(readFileSync(join(out, "atoms.arrow"))))
      expect(atoms.map((a) => a.component)).toEqual(Array.from({ length: 16 }, (_, j) => j))
      for (const a of atoms) {
        expect(a.usage).toBeGreaterThanOrEqual(0)
        expect(a.usage).toBeLessThanOrEqual(1)
        expect(typeof a.edgeLike).toBe("boolean")
        // An unused component has no atom (cⱼ = 0), so no shape either.
        if (a.maxActivation === 0) expect(a.atomNorm).toBe(0)
      }
      expect(written.atomShapes.edgeLikeFraction).toBeCloseTo(atoms.filter((a) => a.edgeLike === true).length / 16, 6)
      expect(readFileSync(join(out, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(3)

      // The checkpoint is the best epoch: a fresh model restored from it evaluates as the summary says.
      const snapshot = yield* readCheckpoint(join(out, "checkpoint.safetensors"))
      expect(snapshot.model).toBe("vdl-nl")
      expect(snapshot.epoch + 1).toBe(summary.bestEpoch)
      const restored = yield* Effect.scoped(
        Effect.gen(function* () {
          const m = yield* scopedModel(snapshot.settings, snapshot.inputDim, rngFor(99, "init"))
          yield* restoreSnapshot(m, snapshot, "checkpoint")
          return yield* evaluate(m, data.val)
        })
      )
      expect(restored.psnr).toBeCloseTo(summary.val.psnr, 4)
      expect(restored.energy).toBeCloseTo(summary.val.energy, 4)
      expect(tf.memory().numTensors).toBe(before)
    }).pipe(Effect.provide(env()))
  )

  it.effect("keeps the number of live tensors flat over batches and epochs", () =>
    Effect.gen(function* () {
      const data = yield* smallData(250)
      const counts = yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* scopedModel(smallSettings("sdl-nl", { hidden: [24] }), 784, rngFor(1, "init"))
          const order = rngFor(1, "order")
          const seen: number[] = []
          for (let epoch = 0; epoch < 3; epoch++) {
            yield* trainEpoch(model, data.train, epoch, order)
            yield* evaluate(model, data.val)
            seen.push(tf.memory().numTensors)
          }
          return seen
        })
      )
      expect(counts[1]).toBe(counts[0])
      expect(counts[2]).toBe(counts[0])
    }).pipe(Effect.provide(env()))
  )

  it.effect("is reproducible: the same seed gives the same metrics", () =>
    Effect.gen(function* () {
      const data = yield* smallData(200)
      const once = () =>
        Effect.scoped(
          Effect.gen(function* () {
            const model = yield* scopedModel(smallSettings("sdl"), 784, rngFor(4, "init"))
            const r = yield* trainEpoch(model, data.train, 0, rngFor(4, "order"))
            return r.metrics
          })
        )
      const a = yield* once()
      const b = yield* once()
      expect(b).toEqual(a)
    }).pipe(Effect.provide(env()))
  )

  it.effect("refuses a checkpoint of another shape with a message naming the tensor", () =>
    Effect.gen(function* () {
      const data = yield* smallData(100)
      const out = mkdtempSync(join(tmpdir(), "run-"))
      yield* trainRun({ model: "sdl", settings: smallSettings("sdl"), epochs: 1, seed: 1, out }, data)
      const snapshot = yield* readCheckpoint(join(out, "checkpoint.safetensors"))
      const other = makeModel(smallSettings("sdl", { codeDim: 8 }), 784, rngFor(1, "init"))
      const result = yield* Effect.either(restoreSnapshot(other, snapshot, "ckpt"))
      disposeModel(other)
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") expect(result.left.message).toMatch(/shape \[16,784\]|shape \[784,16\]|needs \[/)
      const backend = yield* Backend
      expect(backend.name).toBe("wasm")
    }).pipe(Effect.provide(env()))
  )
})
