/**
 * The training loop with hooks: what hooks see, where their columns land, the data order of each
 * epoch, a resume that keeps the hooks' columns, a stop after a number of batches, and no tensor
 * left behind.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Layer, Logger } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeRng } from "../../src/data/random.js"
import { readArrowIpcTable, type Row } from "../../src/data/table.js"
import { type Composition, compositionOf } from "../../src/models/composition.js"
import { disposeModel, makeModel, type SparseCodingModel } from "../../src/models/model.js"
import { sgd } from "../../src/models/optimisers/sgd.js"
import { type Transform, zeroState } from "../../src/models/optimisers/transform.js"
import type { CodeTerm } from "../../src/models/terms/term.js"
import { readCheckpoint, restoreSnapshot } from "../../src/pipeline/train/checkpoint.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { BackendLive } from "../../src/pipeline/backend/backend.js"
import type { Dataset } from "../../src/pipeline/sources/dataset.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { type LoopOptions, trainingLoop, type TrainingHooks } from "../../src/pipeline/train/loop.js"
import { readResumePoint } from "../../src/pipeline/train/resume.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"

const env = Layer.mergeAll(
  NodeContext.layer,
  ProgressSilent,
  BackendLive("wasm"),
  Logger.replace(Logger.defaultLogger, Logger.none)
)

const batchSize = 20
const trainRows = 130
const settings: ModelSettings = { ...variants.sdl.settings.mnist, codeDim: 8, batchSize, epochs: 3 }

/**
 * Random 4×4 images in [0, 1]. The training set notes the rows of every batch it is asked to turn
 * into pixels (the training step does so once per batch with the batch's row indices), so a test
 * can read back the order each epoch saw.
 */
const randomData = (seen: Int32Array[] = []) => {
  const rng = makeRng(3)
  const dataset = (name: string, rows: number, record: boolean): Dataset => ({
    name,
    x: Float32Array.from({ length: rows * 16 }, () => rng.next()),
    rows,
    dim: 16,
    height: 4,
    width: 4,
    labels: null,
    toPixels: (x, indices) => {
      if (record && seen[seen.length - 1] !== indices) seen.push(indices)
      return tf.tidy(() => tf.clipByValue(x, 0, 1))
    }
  })
  return { train: dataset("train", trainRows, true), val: dataset("val", 40, false), test: dataset("test", 40, false) }
}

const options = (epochs: number, extra: Partial<LoopOptions<never, never>> = {}): LoopOptions<never, never> => ({
  model: "sdl",
  settings,
  epochs,
  seed: 8,
  ...extra
})

/** The Frobenius norm of the decoder's weight: a figure of the model alone, so a resume gives it again. */
const decoderNorm = (m: SparseCodingModel) => tf.tidy(() => tf.norm(m.decoder.params.W1).dataSync()[0])

const normColumn: TrainingHooks = { onEpoch: ({ model }) => Effect.succeed({ decoderNorm: decoderNorm(model) }) }

const readTable = (out: string) => readArrowIpcTable(new Uint8Array(readFileSync(join(out, "metrics.arrow"))))

const withoutTimes = (rows: Row[]) => rows.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest)

describe("training loop", () => {
  it.effect(
    "hooks see the model and the figures so far, and an epoch hook's columns land in metrics.arrow and metrics.csv",
    () =>
      Effect.gen(function* () {
        const data = randomData()
        const out = mkdtempSync(join(tmpdir(), "loop-"))
        const models = new Set<SparseCodingModel>()
        const batches: Array<{ epoch: number; batch: number; batches: number; rows: number; epochRows: number }> = []
        const epochs: Array<{
          epoch: number
          rowsBefore: number
          valEnergy: number
          rowValEnergy: unknown
          trainEnergy: number
          rowTrainEnergy: unknown
        }> = []
        const hooks: TrainingHooks = {
          onStart: ({ model, epoch, rows }) =>
            Effect.sync(() => {
              models.add(model)
              expect([epoch, rows.length]).toEqual([0, 0])
            }),
          onBatch: (b) =>
            Effect.sync(() => {
              models.add(b.model)
              batches.push({
                epoch: b.epoch,
                batch: b.batch,
                batches: b.batches,
                rows: b.totals.rows,
                epochRows: b.epochTotals.rows
              })
            }),
          onEpoch: (e) =>
            Effect.sync(() => {
              models.add(e.model)
              epochs.push({
                epoch: e.epoch,
                rowsBefore: e.rows.length,
                valEnergy: e.val.energy,
                rowValEnergy: e.row.valEnergy,
                trainEnergy: e.train.energy,
                rowTrainEnergy: e.row.trainEnergy
              })
              return { decoderNorm: decoderNorm(e.model), rowsBefore: e.rows.length }
            })
        }
        const result = yield* Effect.scoped(trainingLoop(options(2, { out, hooks: [hooks] }), data))
        expect(models.size).toBe(1)
        const perEpoch = Math.floor(trainRows / batchSize)
        expect(batches).toEqual(
          [0, 1].flatMap((epoch) =>
            Array.from({ length: perEpoch }, (_, i) => ({
              epoch,
              batch: i + 1,
              batches: perEpoch,
              rows: batchSize,
              epochRows: (i + 1) * batchSize
            }))
          )
        )
        expect(epochs.map((e) => [e.epoch, e.rowsBefore])).toEqual([
          [0, 0],
          [1, 1]
        ])
        for (const e of epochs) expect([e.rowValEnergy, e.rowTrainEnergy]).toEqual([e.valEnergy, e.trainEnergy])

        const table = readTable(out)
        expect(table.columns.slice(-2)).toEqual(["decoderNorm", "rowsBefore"])
        expect(table.rows.map((r) => r.rowsBefore)).toEqual([0, 1])
        for (const r of table.rows) expect(r.decoderNorm).toBeGreaterThan(0)
        expect(table.rows.map((r) => r.valEnergy)).toEqual(epochs.map((e) => e.valEnergy))
        expect(result.rows.map((r) => r.decoderNorm)).toEqual(table.rows.map((r) => r.decoderNorm))
        expect(readFileSync(join(out, "metrics.csv"), "utf8").split("\n")[0].endsWith(",decoderNorm,rowsBefore")).toBe(
          true
        )
      }).pipe(Effect.provide(env))
  )

  it.effect("each epoch trains on a fresh permutation, drawn from one order generator for the whole run", () =>
    Effect.gen(function* () {
      const seen: Int32Array[] = []
      yield* Effect.scoped(trainingLoop(options(3), randomData(seen)))
      const perEpoch = Math.floor(trainRows / batchSize)
      const order = rngFor(8, "order")
      const expected = [0, 1, 2].map(() => order.permutation(trainRows).slice(0, perEpoch * batchSize))
      const epochOrders = [0, 1, 2].map((e) =>
        seen.slice(e * perEpoch, (e + 1) * perEpoch).flatMap((b) => Array.from(b))
      )
      expect(seen).toHaveLength(3 * perEpoch)
      expect(epochOrders).toEqual(expected)
      expect(epochOrders[1]).not.toEqual(epochOrders[0])
      expect(epochOrders[2]).not.toEqual(epochOrders[1])
    }).pipe(Effect.provide(env))
  )

  it.effect("a resumed run keeps the hooks' columns of its earlier epochs and ends as a run never stopped", () =>
    Effect.gen(function* () {
      const data = randomData()
      const straight = mkdtempSync(join(tmpdir(), "loop-"))
      yield* Effect.scoped(trainingLoop(options(3, { out: straight, hooks: [normColumn] }), data))
      const stopped = mkdtempSync(join(tmpdir(), "loop-"))
      yield* Effect.scoped(trainingLoop(options(2, { out: stopped, hooks: [normColumn] }), data))
      const point = yield* readResumePoint(stopped)
      yield* Effect.scoped(trainingLoop(options(3, { out: stopped, resume: point, hooks: [normColumn] }), data))
      const resumed = readTable(stopped)
      expect(resumed.columns).toEqual(readTable(straight).columns)
      expect(withoutTimes(resumed.rows)).toStrictEqual(withoutTimes(readTable(straight).rows))
    }).pipe(Effect.provide(env))
  )

  it.effect(
    "a checkpoint records the composition: a model of other pieces is refused, naming them, and the same pieces resume and load",
    () =>
      Effect.gen(function* () {
        const data = randomData()
        const base = compositionOf(settings)
        const ridge: CodeTerm = {
          name: "ridge",
          value: (z) => tf.mul(tf.sum(tf.square(z)), 0.01) as tf.Scalar,
          gradient: (z) => tf.mul(z, 0.02) as tf.Tensor2D,
          lipschitz: () => 0.02,
          host: {
            kind: "affine",
            accumulate: (_moments, codeDim, c) => {
              for (let j = 0; j < codeDim; j++) c.slope[j] += 0.02
            }
          }
        }
        const own: Composition = { ...base, energy: { ...base.energy, terms: [...base.energy.terms, ridge] } }
        const out = mkdtempSync(join(tmpdir(), "loop-"))
        yield* Effect.scoped(trainingLoop(options(1, { out, composition: own }), data))
        const point = yield* readResumePoint(out)
        expect(point.snapshot.composition?.terms).toEqual([...base.energy.terms.map((t) => t.name), "ridge"])

        const refused = yield* Effect.flip(Effect.scoped(trainingLoop(options(2, { out, resume: point }), data)))
        expect(refused.message).toContain(
          `terms [${[...base.energy.terms.map((t) => t.name), "ridge"].join(", ")}] against [${base.energy.terms.map((t) => t.name).join(", ")}]`
        )
        yield* Effect.scoped(trainingLoop(options(2, { out, resume: point, composition: own }), data))

        const best = yield* readCheckpoint(join(out, "checkpoint.safetensors"))
        const plain = makeModel(best.settings, best.inputDim, rngFor(0, "init"))
        const same = makeModel(best.settings, best.inputDim, rngFor(0, "init"), { composition: own })
        expect((yield* Effect.flip(restoreSnapshot(plain, best, "checkpoint.safetensors")))._tag).toBe(
          "CheckpointError"
        )
        yield* restoreSnapshot(same, best, "checkpoint.safetensors")
        disposeModel(plain)
        disposeModel(same)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "a chain of one's own with a stateful optimizer the settings do not name checkpoints its state, and resumes",
    () =>
      Effect.gen(function* () {
        const data = randomData()
        const base = compositionOf(settings)
        const momentum = sgd({ momentum: 0.5, nesterov: false })
        const own: Composition = {
          ...base,
          decoderUpdate: base.decoderUpdate.map((t) => (t.name === "adam" ? momentum : t))
        }
        const out = mkdtempSync(join(tmpdir(), "loop-"))
        yield* Effect.scoped(trainingLoop(options(1, { out, composition: own }), data))
        const point = yield* readResumePoint(out)
        expect(Object.keys(point.snapshot.tensors)).toEqual(
          expect.arrayContaining(["decoder.sgd.momentum.W1", "encoder.adam.m.W"])
        )
        expect(Object.keys(point.snapshot.tensors).some((k) => k.startsWith("decoder.adam."))).toBe(false)
        const refused = yield* Effect.flip(Effect.scoped(trainingLoop(options(2, { out, resume: point }), data)))
        expect(refused.message).toContain("decoder update")
        yield* Effect.scoped(trainingLoop(options(2, { out, resume: point, composition: own }), data))
        expect((yield* readCheckpoint(join(out, "last.safetensors"))).epoch).toBe(1)
      }).pipe(Effect.provide(env))
  )

  it.effect(
    "an optimizer state that breaks while the weights stay finite stops the run at the epoch's end, before a file holds it",
    () =>
      Effect.gen(function* () {
        const base = compositionOf(settings)
        let updates = 0
        // A transform whose state overflows on its second update and which never touches the weights.
        const overflowing: Transform = {
          name: "overflowing",
          init: () => zeroState({ tensors: { level: [1] }, scalars: [] }),
          layout: () => ({ tensors: { level: [1] }, scalars: [] }),
          update: (grads, state) => {
            updates += 1
            if (updates === 2) state.tensors.level.assign(tf.fill([1], Number.POSITIVE_INFINITY))
            return { updates: grads, state }
          }
        }
        const own: Composition = { ...base, decoderUpdate: [overflowing, ...base.decoderUpdate] }
        const out = mkdtempSync(join(tmpdir(), "loop-"))
        const failed = yield* Effect.flip(
          Effect.scoped(trainingLoop(options(2, { out, composition: own }), randomData()))
        )
        expect(failed.message).toContain(
          `training diverged at epoch 1, batch ${Math.floor(trainRows / batchSize)}: NaN or infinity in the model tensor decoder.overflowing.level, checked at the end of the epoch.`
        )
        const kept = yield* readCheckpoint(join(out, "last.safetensors"))
        expect(kept.epoch).toBe(-1)
        for (const t of Object.values(kept.tensors)) expect(t.data.every(Number.isFinite)).toBe(true)
      }).pipe(Effect.provide(env))
  )

  it.effect("a batch limit stops the loop mid-epoch, without a row for the epoch it stopped in", () =>
    Effect.gen(function* () {
      let batches = 0
      const result = yield* Effect.scoped(
        trainingLoop(
          options(3, { batchLimit: 8, hooks: [{ onBatch: () => Effect.sync(() => void (batches += 1)) }] }),
          randomData()
        )
      )
      expect(batches).toBe(8)
      expect(result.rows.map((r) => r.epoch)).toEqual([1])
      expect(result.next).toEqual({ epoch: 1, batch: 8 - Math.floor(trainRows / batchSize) })
    }).pipe(Effect.provide(env))
  )

  it.effect("keeps the number of live tensors flat over a run with hooks, and releases the model with its scope", () =>
    Effect.gen(function* () {
      const before = tf.memory().numTensors
      const counts: number[] = []
      const hooks: TrainingHooks = {
        onBatch: ({ model }) => Effect.sync(() => void decoderNorm(model)),
        onEpoch: ({ model }) =>
          Effect.sync(() => {
            counts.push(tf.memory().numTensors)
            return { decoderNorm: decoderNorm(model) }
          })
      }
      yield* Effect.scoped(
        trainingLoop(options(3, { out: mkdtempSync(join(tmpdir(), "loop-")), hooks: [hooks] }), randomData())
      )
      expect(counts).toHaveLength(3)
      expect(counts[1]).toBe(counts[0])
      expect(counts[2]).toBe(counts[0])
      expect(tf.memory().numTensors).toBe(before)
    }).pipe(Effect.provide(env))
  )
})
