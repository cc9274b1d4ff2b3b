/**
 * A run folder written by format 2, which named Adam's state `encoderAdam.m.W` and its steps
 * `adamSteps`, still resumes, and continues as that version continued it: the fixture is a
 * one-epoch VDL-NL run (decoder learning rate halved every epoch, hidden-bias decay), and that
 * version's own resume to two epochs left the tensor digest below.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { cpSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { mnistCli } from "../../src/cli/commands/train.js"
import { checkpointFormat, readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { digestUnderOldNames } from "../helpers/old-digest.js"

const fixture = join(__dirname, "..", "fixtures", "run-format-2")
/** dataSha256 of last.safetensors after format 2's release resumed the fixture to --epochs 2 (on cpu). */
const RELEASED_DIGEST = "be00016533d5449f99a706f41f6b6f07ba92cc91972bb607313f0b11ac4adaef"

const metadataOf = (bytes: Buffer) =>
  JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8")).__metadata__

describe("a run folder of the second format", () => {
  it.effect("loads its Adam state under today's names and resumes to the same weights its release reached", () =>
    Effect.gen(function* () {
      expect(
        metadataOf(readFileSync(join(fixture, "last.safetensors"))).format,
        "the fixture is of the second format"
      ).toBe("sparse-vdl/2")
      const before = yield* readCheckpoint(join(fixture, "last.safetensors"))
      expect(before.optimizerScalars).toEqual({ "encoder.adam.step": 6, "decoder.adam.step": 6 })
      expect(
        Object.keys(before.tensors)
          .filter((k) => k.includes(".adam."))
          .sort()
      ).toEqual([
        "decoder.adam.m.W1",
        "decoder.adam.m.W2",
        "decoder.adam.m.b1",
        "decoder.adam.v.W1",
        "decoder.adam.v.W2",
        "decoder.adam.v.b1",
        "encoder.adam.m.S",
        "encoder.adam.m.W",
        "encoder.adam.m.c",
        "encoder.adam.v.S",
        "encoder.adam.v.W",
        "encoder.adam.v.c"
      ])
      const folder = join(mkdtempSync(join(tmpdir(), "second-format-")), "run")
      cpSync(fixture, folder, { recursive: true })
      yield* mnistCli(["node", "mnist", "--resume", folder, "--epochs", "2"]).pipe(
        Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent))
      )
      const raw = readFileSync(join(folder, "last.safetensors"))
      expect(metadataOf(raw).format).toBe(checkpointFormat)
      const last = yield* readCheckpoint(join(folder, "last.safetensors"))
      expect(last.optimizerScalars).toEqual({ "encoder.adam.step": 12, "decoder.adam.step": 12 })
      expect(digestUnderOldNames(new Uint8Array(raw))).toBe(RELEASED_DIGEST)
    })
  )
})
