/**
 * A run folder written by the first release (its settings grouped as energy and fista, before the
 * settings Schema) still resumes, and continues as that release continued it: the fixture is a
 * one-epoch SDL run, and the release's own resume to two epochs left the tensor digest below.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { cpSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { mnistCli } from "../../src/cli/commands/train.js"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { digestUnderOldNames } from "../helpers/old-digest.js"

const fixture = join(__dirname, "..", "fixtures", "run-format-1")
/** dataSha256 of last.safetensors after the first release resumed the fixture to --epochs 2 (on cpu). */
const RELEASED_DIGEST = "da623b03912608cf6880cd9ec6ec44357d6aaf1623432c80fd56a7f65f4e0fb7"

describe("a run folder of the first format", () => {
  it.effect("resumes, with its settings read as today's, to the same weights the first release reached", () =>
    Effect.gen(function* () {
      const old = JSON.parse(readFileSync(join(fixture, "summary.json"), "utf8"))
      expect(old.settings.energy, "the fixture is of the first format").toBeDefined()
      const folder = join(mkdtempSync(join(tmpdir(), "first-format-")), "run")
      cpSync(fixture, folder, { recursive: true })
      yield* mnistCli(["node", "mnist", "--resume", folder, "--epochs", "2"]).pipe(
        Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent))
      )
      const summary = JSON.parse(readFileSync(join(folder, "summary.json"), "utf8"))
      expect(summary.epochs).toBe(2)
      expect(summary.settings).toMatchObject({
        lambda: old.settings.energy.lambda,
        eta: old.settings.fista.step.eta,
        covariance: 0,
        inference: "fista"
      })
      const last = yield* readCheckpoint(join(folder, "last.safetensors"))
      expect(last.settings.unitNormAtoms).toBe(true)
      expect(Object.keys(last.tensors)).toContain("encoder.adam.m.W")
      expect(digestUnderOldNames(new Uint8Array(readFileSync(join(folder, "last.safetensors"))))).toBe(RELEASED_DIGEST)
    })
  )
})
