/**
 * A run stopped and resumed gives the same numbers as a run never stopped: after whole epochs, in
 * the middle of an epoch, and after a kill between the two checkpoint writes of an epoch.
 */
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Deferred, Effect, Fiber } from "effect"
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeRng } from "../../src/data/random.js"
import { readArrowIpc, tableToArrowIpc } from "../../src/data/table.js"
import type { BackendName } from "../../src/pipeline/backend/backend.js"
import { disposeModel, makeModel, modelTensors } from "../../src/models/model.js"
import { expectedShapes, readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { readResumePoint } from "../../src/pipeline/train/resume.js"
import { type RunOptions, trainRun } from "../../src/pipeline/train/run.js"
import { env, metricsWithoutTimes, smallData, smallSettings } from "../helpers/mnist-runs.js"

const folder = () => mkdtempSync(join(tmpdir(), "resume-"))

const options = (out: string, epochs: number): RunOptions => ({
  model: "vdl",
  settings: { ...smallSettings("vdl"), epochs },
  epochs,
  seed: 11,
  out
})

/** What must agree bit for bit: every figure of every epoch, the final evaluation, the weights. */
const outcome = (out: string) =>
  Effect.gen(function* () {
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
    const last = yield* readCheckpoint(join(out, "last.safetensors"))
    return {
      rows: metricsWithoutTimes(out),
      val: summary.val,
      test: summary.test,
      bestEpoch: summary.bestEpoch,
      weights: Object.fromEntries(Object.entries(last.tensors).map(([k, v]) => [k, Array.from(v.data)])),
      orderState: last.progress?.orderState
    }
  })

const resume = (out: string, epochs: number, extra: Partial<RunOptions> = {}) =>
  Effect.gen(function* () {
    const point = yield* readResumePoint(out)
    return yield* trainRun({ ...options(out, epochs), resume: point, ...extra }, yield* smallData(300))
  })

describe("checkpoint layout", () => {
  it.effect("the shapes a checkpoint is checked against are the tensors makeModel creates, for each optimizer", () =>
    Effect.sync(() => {
      for (const [model, hidden, optimizer] of [
        ["sdl", [], "adam"],
        ["vdl-nl", [24], "adam"],
        ["vdl-nl", [24, 12], "adam"],
        ["vdl-nl", [24], "sgd"],
        ["sdl", [], "adamw"]
      ] as const) {
        const settings = smallSettings(model, { hidden, codeDim: 8, optimizer })
        const m = makeModel(settings, 30, makeRng(1))
        const actual = Object.fromEntries(Object.entries(modelTensors(m)).map(([k, v]) => [k, v.shape]))
        disposeModel(m)
        expect(expectedShapes(settings, 30)).toEqual(actual)
      }
    }).pipe(Effect.provide(env("wasm")))
  )
})

describe("the data-order generator", () => {
  it("continues its sequence from a saved state", () => {
    const a = makeRng(42)
    a.permutation(50)
    const b = makeRng(0, a.state())
    expect(b.permutation(30)).toEqual(a.permutation(30))
    expect(() => makeRng(1, -1)).toThrow(RangeError)
  })
})

// The cpu backend is several times slower: half the epochs there.
describe.each<[BackendName, number]>([
  ["wasm", 4],
  ["cpu", 2]
])("resume on %s", (backend, epochs) => {
  it.effect(`${epochs} epochs straight equal ${epochs / 2}, stop, resume, ${epochs / 2} more, bit for bit`, () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      const straight = folder()
      yield* trainRun(options(straight, epochs), data)
      const stopped = folder()
      yield* trainRun(options(stopped, epochs / 2), data)
      const before = tf.memory().numTensors
      yield* resume(stopped, epochs)
      expect(tf.memory().numTensors).toBe(before)
      const a = yield* outcome(straight)
      const b = yield* outcome(stopped)
      expect(b.rows).toHaveLength(epochs)
      // toStrictEqual compares numbers with Object.is: equal means the same bits.
      expect(b).toStrictEqual(a)
    }).pipe(Effect.provide(env(backend)))
  )
})

describe("resume with another optimizer", () => {
  it.effect("an SGD run with Nesterov momentum, its buffers in the checkpoint, resumes bit for bit", () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      const sgd = (out: string, epochs: number): RunOptions => ({
        ...options(out, epochs),
        settings: {
          ...smallSettings("vdl", { optimizer: "sgd", nesterov: true, decoderLr: 0.05, encoderLr: 0.05 }),
          epochs
        }
      })
      const straight = folder()
      yield* trainRun(sgd(straight, 2), data)
      const stopped = folder()
      yield* trainRun(sgd(stopped, 1), data)
      const last = yield* readCheckpoint(join(stopped, "last.safetensors"))
      expect(Object.keys(last.tensors)).toContain("decoder.sgd.momentum.W1")
      const point = yield* readResumePoint(stopped)
      yield* trainRun({ ...sgd(stopped, 2), resume: point }, data)
      expect(yield* outcome(stopped)).toStrictEqual(yield* outcome(straight))
    }).pipe(Effect.provide(env("wasm")))
  )
})

describe("resume within an epoch", () => {
  it.effect("an interruption after a batch of epoch 2 saves that batch, and the resume matches a straight run", () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      const straight = folder()
      yield* trainRun(options(straight, 3), data)

      const stopped = folder()
      const reached = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        trainRun(
          {
            ...options(stopped, 3),
            hooks: [
              {
                onBatch: (b) =>
                  b.epoch === 1 && b.batch === 2
                    ? Deferred.succeed(reached, undefined).pipe(Effect.zipRight(Effect.yieldNow()))
                    : Effect.void
              }
            ]
          },
          data
        )
      )
      yield* Deferred.await(reached)
      yield* Fiber.interrupt(fiber)
      const point = yield* readResumePoint(stopped)
      // The interruption lands at the next batch boundary: within epoch 2, past its second batch.
      expect(point.progress.next.epoch).toBe(1)
      expect(point.progress.next.batch).toBeGreaterThanOrEqual(2)
      expect(point.progress.partial?.totals.rows).toBe(point.progress.next.batch * 50)
      expect(point.snapshot.epoch).toBe(0)
      // Epoch 2 has begun: a total of 1 would have to undo it.
      const early = yield* Effect.flip(resume(stopped, 1))
      expect(early.message).toBe(
        `setting epochs: the run in ${stopped} has already started 2 epochs; ask for a total of at least 2`
      )

      yield* resume(stopped, 3)
      expect(yield* outcome(stopped)).toStrictEqual(yield* outcome(straight))
    }).pipe(Effect.provide(env("wasm")))
  )

  it.effect("a kill between last.safetensors and checkpoint.safetensors is repaired by the resume", () =>
    Effect.gen(function* () {
      const data = yield* smallData(300)
      const straight = folder()
      yield* trainRun(options(straight, 3), data)

      // Replay the kill: the folder after 2 epochs, but with the best checkpoint of epoch 1.
      const stopped = folder()
      const aside = join(folder(), "epoch1.safetensors")
      // onEpoch of epoch 2 runs before that epoch's files are written: the best file is still epoch 1's.
      yield* trainRun(
        {
          ...options(stopped, 2),
          hooks: [
            {
              onEpoch: (e) =>
                Effect.sync(() => void (e.epoch === 1 && copyFileSync(join(stopped, "checkpoint.safetensors"), aside)))
            }
          ]
        },
        data
      )
      const point = yield* readResumePoint(stopped)
      expect(point.progress.best?.epoch).toBe(1)
      copyFileSync(aside, join(stopped, "checkpoint.safetensors"))

      yield* resume(stopped, 3)
      expect(yield* outcome(stopped)).toStrictEqual(yield* outcome(straight))
      const best = yield* readCheckpoint(join(stopped, "checkpoint.safetensors"))
      expect(best.epoch + 1).toBe((yield* outcome(straight)).bestEpoch)
    }).pipe(Effect.provide(env("wasm")))
  )

  it.effect(
    "resuming a finished run with a larger --epochs continues it; with the same, only rewrites the summary",
    () =>
      Effect.gen(function* () {
        const data = yield* smallData(300)
        const out = folder()
        yield* trainRun(options(out, 1), data)
        const summary = readFileSync(join(out, "summary.json"), "utf8")
        yield* resume(out, 1)
        expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).val).toStrictEqual(JSON.parse(summary).val)
        yield* resume(out, 2)
        expect(metricsWithoutTimes(out).map((r) => r.epoch)).toEqual([1, 2])
      }).pipe(Effect.provide(env("wasm")))
  )

  it.effect(
    "a run folder from before the atom-shape columns resumes, with those columns empty for its old epochs",
    () =>
      Effect.gen(function* () {
        const data = yield* smallData(300)
        const out = folder()
        yield* trainRun(options(out, 1), data)
        const path = join(out, "metrics.arrow")
        const old = readArrowIpc(new Uint8Array(readFileSync(path))).map((r) =>
          Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("columns")))
        )
        writeFileSync(path, tableToArrowIpc(old))
        yield* resume(out, 2)
        const rows = readArrowIpc(new Uint8Array(readFileSync(path)))
        expect(rows.map((r) => r.columnsMedianOrientedness === null)).toEqual([true, false])
        expect(rows[1].columnsMedianOrientedness).toBeGreaterThan(0)
      }).pipe(Effect.provide(env("wasm")))
  )
})
