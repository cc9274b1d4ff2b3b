/** A patch file read a record batch at a time (issue 15): the same rows as read whole, and a seeded windowed epoch order. */
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Chunk, Deferred, Effect, Either, Fiber, Stream } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openPatchWriter, type PatchRows, readPatchFile } from "../../src/data/patch-file.js"
import { makeRng } from "../../src/data/random.js"
import { gatherRows } from "../../src/models/gather-rows.js"
import { batchStream, epochOrder, firstRows } from "../../src/pipeline/sources/dataset.js"
import { loadPatchSplits } from "../../src/pipeline/patches/datasets.js"
import { openStreamedPatchFile, windowedOrder } from "../../src/pipeline/patches/streamed.js"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { readResumePoint } from "../../src/pipeline/train/resume.js"
import { type RunOptions, trainRun } from "../../src/pipeline/train/run.js"
import { env, metricsWithoutTimes, smallSettings } from "../helpers/mnist-runs.js"

const dim = 784
const dir = mkdtempSync(join(tmpdir(), "patch-stream-"))
const names = ["train", "val", "test"] as const

const rows = (count: number, first: number): PatchRows => ({
  count,
  patch: Float32Array.from({ length: count * dim }, (_, i) => first + Math.floor(i / dim) + (i % dim) / 1000),
  mean: Float32Array.from({ length: count * dim }, (_, i) => -(first + Math.floor(i / dim))),
  scale: Float32Array.from({ length: count * dim }, (_, i) => 1 + ((first + Math.floor(i / dim)) % 7) / 10),
  source: Array.from({ length: count }, (_, i) => `photos/${first + i}.jpg`),
  top: Int32Array.from({ length: count }, (_, i) => first + i),
  left: Int32Array.from({ length: count }, (_, i) => 2 * (first + i)),
  // Mostly train, some val and test, unevenly spread over the record batches.
  split: Array.from({ length: count }, (_, i) =>
    (first + i) % 5 === 3 ? "val" : (first + i) % 7 === 2 ? "test" : "train"
  )
})

/** 12 record batches of 9..20 rows. */
const path = join(dir, "patches.arrow")
const written = Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const w = yield* openPatchWriter(path, dim, {
        "rows.train": "0",
        preprocessing: JSON.stringify({ scaleFloor: { mode: "data", level: 0.3 } })
      })
      let first = 0
      for (let b = 0; b < 12; b++) {
        const n = 9 + ((b * 5) % 12)
        yield* w.append(rows(n, first))
        first += n
      }
      yield* w.commit
    })
  )
)

describe("streamed patch files", () => {
  it.effect(
    "gather the rows of each split that readPatchFile reads, touching only the record batches they are in",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => written)
        const whole = yield* readPatchFile(path)
        const file = yield* openStreamedPatchFile(path, 2)
        expect(file.recordBatches).toBe(12)
        expect(file.reads()).toBe(12)
        for (const name of names) {
          const split = whole.splits[name]
          expect(file.splits[name].rows).toBe(split.rows)
          const indices = Int32Array.from([split.rows - 1, 0, 3, 3])
          const got = file.gather(name, indices)
          expect(got.patch).toEqual(gatherRows(split.patch, dim, indices))
          expect(got.mean).toEqual(gatherRows(split.mean, dim, indices))
          expect(got.scale).toEqual(gatherRows(split.scale, dim, indices))
          expect(() => file.gather(name, [split.rows])).toThrow(RangeError)
        }
        const before = file.reads()
        file.gather(
          "train",
          Int32Array.from({ length: 5 }, (_, i) => i)
        )
        expect(file.reads() - before).toBeLessThanOrEqual(1)
      })
  )

  it.effect(
    "the windowed order: a seeded permutation of all rows, each window's rows from `window` record batches",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => written)
        const file = yield* openStreamedPatchFile(path)
        const split = file.splits.train
        for (const window of [1, 3, 100]) {
          const order = windowedOrder(split, window)(split.rows, makeRng(3))
          expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: split.rows }, (_, i) => i))
          expect(windowedOrder(split, window)(split.rows, makeRng(3))).toEqual(order)
          expect(windowedOrder(split, window)(split.rows, makeRng(4))).not.toEqual(order)
          // Walking the order: a window is closed when it holds every row of its record batches
          // and has `window` of them (or the order ends); no window ever spans more.
          const rowsOf = (b: number) => split.batchOf.filter((x) => x === b).length
          let open = new Set<number>()
          let taken = 0
          for (const i of order) {
            open.add(split.batchOf[i])
            taken++
            expect(open.size).toBeLessThanOrEqual(window)
            if (open.size === window && taken === [...open].reduce((a, b) => a + rowsOf(b), 0)) {
              open = new Set()
              taken = 0
            }
          }
        }
        // The first rows only: a permutation of them.
        const first = windowedOrder(split, 2)(10, makeRng(1))
        expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i))
      })
  )

  it.effect(
    "loadPatchSplits streams on request: the same rows, μ and s per batch, and a resumed epoch draws the same order",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => written)
        const memory = yield* loadPatchSplits(path, undefined, { reading: "memory" })
        const streamed = yield* loadPatchSplits(path, undefined, { reading: "stream", window: 2 })
        expect(memory.file.streamed).toBe(false)
        expect(streamed.file.streamed).toBe(true)
        expect(streamed.file.metadata).toEqual(memory.file.metadata)
        for (const name of names) {
          const a = memory.splits[name]
          const b = streamed.splits[name]
          expect(b.rows).toBe(a.rows)
          expect(b.normalization).toEqual(a.normalization)
          expect(b.x).toEqual(a.x)
          const batches = Chunk.toArray(Effect.runSync(Stream.runCollect(batchStream(b, 4, { kind: "sequential" }))))
          for (const batch of batches) {
            const pixels = tf.tidy(() => b.toPixels(tf.tensor2d(batch.x, [batch.rows, dim]), batch.indices).dataSync())
            const reference = tf.tidy(() =>
              a.toPixels(tf.tensor2d(batch.x, [batch.rows, dim]), Int32Array.from(batch.indices)).dataSync()
            )
            expect(pixels).toEqual(reference)
          }
        }
        const train = streamed.splits.train
        const rng = makeRng(8)
        const state = rng.state()
        const order = epochOrder(train, rng)
        expect(epochOrder(train, makeRng(8, state))).toEqual(order)
        const shuffled = Chunk.toArray(
          Effect.runSync(Stream.runCollect(batchStream(train, 5, { kind: "shuffled", rng: makeRng(8, state) })))
        )
        expect(shuffled.flatMap((b) => [...b.indices])).toEqual([...order.subarray(0, Math.floor(train.rows / 5) * 5)])
        for (const batch of shuffled) expect(batch.x).toEqual(gatherRows(memory.splits.train.x, dim, batch.indices))
        // The in-memory data set keeps the uniform permutation of every earlier run.
        expect(epochOrder(memory.splits.train, makeRng(8, state))).toEqual(
          Int32Array.from(makeRng(8, state).permutation(train.rows))
        )
        const cut = yield* loadPatchSplits(path, 10, { reading: "stream" })
        expect(cut.splits.train.rows).toBe(10)
        expect(cut.splits.train.x).toEqual(memory.splits.train.x.subarray(0, 10 * dim))
        expect(firstRows(cut.splits.train, 4).x).toEqual(memory.splits.train.x.subarray(0, 4 * dim))
      })
  )

  it.effect("a file that is not a patch file fails as readPatchFile does", () =>
    Effect.gen(function* () {
      const text = join(dir, "text.arrow")
      writeFileSync(text, "not arrow")
      const r = yield* Effect.either(loadPatchSplits(text, undefined, { reading: "stream" }))
      expect(Either.isLeft(r) && r.left.message).toMatch(/text\.arrow: it is not an Arrow IPC file/)
      const missing = yield* Effect.either(loadPatchSplits(join(dir, "nope.arrow"), undefined, { reading: "stream" }))
      expect(Either.isLeft(missing) && missing.left.message).toMatch(/nope\.arrow: it does not exist/)
    })
  )

  it.effect("a run on a streamed file stopped in an epoch and resumed matches a straight run, bit for bit", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => written)
      const { splits } = yield* loadPatchSplits(path, undefined, { reading: "stream", window: 2 })
      const options = (out: string): RunOptions => ({
        model: "vdl",
        settings: { ...smallSettings("vdl"), batchSize: 20, epochs: 3 },
        epochs: 3,
        seed: 5,
        out
      })
      const outcome = (out: string) =>
        Effect.gen(function* () {
          const last = yield* readCheckpoint(join(out, "last.safetensors"))
          return {
            rows: metricsWithoutTimes(out),
            summary: JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).test,
            weights: Object.fromEntries(Object.entries(last.tensors).map(([k, v]) => [k, Array.from(v.data)]))
          }
        })
      const straight = mkdtempSync(join(dir, "straight-"))
      yield* trainRun(options(straight), splits)
      const stopped = mkdtempSync(join(dir, "stopped-"))
      const reached = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        trainRun(
          {
            ...options(stopped),
            hooks: [
              {
                onBatch: (b) =>
                  b.epoch === 1 && b.batch === 2
                    ? Deferred.succeed(reached, undefined).pipe(Effect.zipRight(Effect.yieldNow()))
                    : Effect.void
              }
            ]
          },
          splits
        )
      )
      yield* Deferred.await(reached)
      yield* Fiber.interrupt(fiber)
      const point = yield* readResumePoint(stopped)
      expect(point.progress.next.epoch).toBe(1)
      expect(point.progress.next.batch).toBeGreaterThanOrEqual(2)
      const again = yield* loadPatchSplits(path, undefined, { reading: "stream", window: 2 })
      yield* trainRun({ ...options(stopped), resume: point }, again.splits)
      expect(yield* outcome(stopped)).toEqual(yield* outcome(straight))
    }).pipe(Effect.provide(env("wasm")))
  )
})
