/**
 * What a run folder now holds for the use of its model: checkpoints that number epochs from 1, as
 * summary.json does, and record the input space; metrics.arrow with an integer epoch column. The
 * forms written before still read.
 */
import { describe, expect, it } from "@effect/vitest"
import { tableFromIPC, Type } from "apache-arrow"
import { Effect, Either } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decodeSafetensors, encodeSafetensors } from "../../src/data/safetensors.js"
import {
  checkpointFormat,
  decodeCheckpoint,
  encodeSnapshot,
  readCheckpoint
} from "../../src/pipeline/train/checkpoint.js"
import { trainingLoop } from "../../src/pipeline/train/loop.js"
import { readMetrics } from "../../src/pipeline/train/metrics-table.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"
import { smallRun } from "./small-run.js"

const fixture = join(__dirname, "..", "fixtures", "run-format-1")

const metadataOf = (bytes: Uint8Array) => Either.getOrThrow(decodeSafetensors(bytes, "file")).metadata

describe("a run folder's files", () => {
  it.effect("checkpoints count epochs done from 1, as summary.json, and record the input space", () =>
    Effect.gen(function* () {
      const { out, summary } = yield* smallRun
      const best = metadataOf(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors"))))
      expect(best.format).toBe(checkpointFormat)
      expect(best.epoch).toBeUndefined()
      expect(Number(best.epochsDone)).toBe(summary.bestEpoch)
      expect(JSON.parse(best.progress).best.epoch).toBe(summary.bestEpoch)
      expect(JSON.parse(best.input)).toEqual({
        height: 28,
        width: 28,
        normalization: { kind: "global", mean: 0.1307, std: 0.3081 }
      })
      const last = metadataOf(new Uint8Array(readFileSync(join(out, "last.safetensors"))))
      expect(last.epochsDone).toBe("5")
      expect(JSON.parse(last.progress).next).toEqual({ epoch: 6, batch: 0 })
      // In memory epochs stay 0-based, as the loop counts them.
      const snapshot = yield* readCheckpoint(join(out, "last.safetensors"))
      expect(snapshot.epoch).toBe(4)
      expect(snapshot.progress?.next).toEqual({ epoch: 5, batch: 0 })
    }).pipe(Effect.provide(env()))
  )

  it("checkpoints of the first format read as before and are rewritten in the new one", () => {
    const bytes = new Uint8Array(readFileSync(join(fixture, "last.safetensors")))
    const old = metadataOf(bytes)
    expect(old.format).toBe("sparse-vdl/1")
    const snapshot = Either.getOrThrow(decodeCheckpoint(bytes, "last.safetensors"))
    expect(snapshot.epoch).toBe(Number(old.epoch))
    expect(snapshot.progress?.next).toEqual(JSON.parse(old.progress).next)
    expect(snapshot.input).toBeUndefined()
    const rewritten = encodeSnapshot(snapshot)
    const meta = metadataOf(rewritten)
    expect(meta.format).toBe(checkpointFormat)
    expect(Number(meta.epochsDone)).toBe(Number(old.epoch) + 1)
    expect(JSON.parse(meta.progress).next.epoch).toBe(JSON.parse(old.progress).next.epoch + 1)
    expect(Either.getOrThrow(decodeCheckpoint(rewritten, "again"))).toEqual(snapshot)
  })

  it("a format-2 checkpoint that numbers an epoch 0 is refused as damaged", () => {
    const bytes = new Uint8Array(readFileSync(join(fixture, "last.safetensors")))
    const snapshot = Either.getOrThrow(decodeCheckpoint(bytes, "last.safetensors"))
    const decoded = Either.getOrThrow(decodeSafetensors(encodeSnapshot(snapshot), "x"))
    const progress = JSON.parse(decoded.metadata.progress)
    const edited = encodeSafetensors(decoded.tensors, {
      ...decoded.metadata,
      progress: JSON.stringify({ ...progress, next: { epoch: 0, batch: 0 } })
    })
    const refused = decodeCheckpoint(edited, "edited")
    expect(Either.isLeft(refused) && refused.left.message).toContain(
      "numbers an epoch 0, but this format numbers epochs from 1"
    )
  })

  it.effect(
    "metrics.arrow has an Int32 epoch column and Float64 figures; a table of the first format still reads",
    () =>
      Effect.gen(function* () {
        const { out } = yield* smallRun
        const table = tableFromIPC(readFileSync(join(out, "metrics.arrow")))
        const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type.typeId]))
        expect(types.epoch).toBe(Type.Int)
        expect(types.valPsnr).toBe(Type.Float)
        expect(types.meanFistaSteps).toBe(Type.Float)
        const atoms = tableFromIPC(readFileSync(join(out, "atoms.arrow")))
        expect(atoms.schema.fields.find((f) => f.name === "component")?.type.typeId).toBe(Type.Int)
        expect((yield* readMetrics(join(out, "metrics.arrow"))).rows.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5])

        const old = tableFromIPC(readFileSync(join(fixture, "metrics.arrow")))
        expect(old.schema.fields.find((f) => f.name === "epoch")?.type.typeId).toBe(Type.Float)
        expect((yield* readMetrics(join(fixture, "metrics.arrow"))).rows.map((r) => r.epoch)).toEqual([1])
      }).pipe(Effect.provide(env()))
  )

  it.effect("a hook's boolean column is an Arrow Bool column, read back as booleans by a resume", () =>
    Effect.gen(function* () {
      const data = yield* smallData(100)
      const out = join(mkdtempSync(join(tmpdir(), "bool-column-")), "run")
      yield* Effect.scoped(
        trainingLoop(
          {
            model: "vdl",
            settings: smallSettings("vdl"),
            epochs: 2,
            seed: 1,
            out,
            hooks: [{ onEpoch: ({ epoch }) => Effect.succeed({ firstEpoch: epoch === 0 }) }]
          },
          data
        )
      )
      const table = tableFromIPC(readFileSync(join(out, "metrics.arrow")))
      expect(table.schema.fields.find((f) => f.name === "firstEpoch")?.type.typeId).toBe(Type.Bool)
      const read = yield* readMetrics(join(out, "metrics.arrow"))
      expect(read.extraColumns).toEqual(["firstEpoch"])
      expect(read.rows.map((r) => r.firstEpoch)).toEqual([true, false])
      expect(
        readFileSync(join(out, "metrics.csv"), "utf8")
          .trim()
          .split("\n")
          .map((l) => l.split(",").at(-1))
      ).toEqual(["firstEpoch", "true", "false"])
    }).pipe(Effect.provide(env()))
  )
})
