/**
 * A NaN or an infinity stops the run with a DivergenceError that names the batch and the term,
 * and the checkpoints of the last good epoch stay as they were.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { readResumePoint } from "../../src/pipeline/train/resume.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { runCli } from "../helpers/commands.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"

describe("divergence", () => {
  it.effect(
    "in a later epoch: the error names epoch, batch and term, and both checkpoints are untouched and load",
    () =>
      Effect.gen(function* () {
        const data = yield* smallData(200)
        const out = mkdtempSync(join(tmpdir(), "diverge-"))
        const settings = smallSettings("vdl")
        yield* trainRun({ model: "vdl", settings: { ...settings, epochs: 1 }, epochs: 1, seed: 2, out }, data)
        const before = {
          last: readFileSync(join(out, "last.safetensors")),
          best: readFileSync(join(out, "checkpoint.safetensors"))
        }

        // The same run continued with a learning rate past float32's range: epoch 2 blows up.
        const point = yield* readResumePoint(out)
        const wild = { ...point.snapshot.settings, decoderLr: 1e39 }
        const failed = yield* Effect.flip(
          trainRun(
            {
              model: "vdl",
              settings: { ...wild, epochs: 3 },
              epochs: 3,
              seed: 2,
              out,
              resume: { ...point, snapshot: { ...point.snapshot, settings: wild } }
            },
            data
          )
        )
        expect(failed._tag).toBe("DivergenceError")
        expect(failed.message).toBe(
          "training diverged at epoch 2, batch 1: NaN or infinity in the model tensor decoder.W1 after the update. " +
            "Lower the learning rates (decoderLr, encoderLr) or the FISTA step (eta), or set eta to lipschitz. " +
            `The last good state is kept: ${join(out, "last.safetensors")} (after epoch 1) and ${join(out, "checkpoint.safetensors")} (best, epoch 1).`
        )
        expect(readFileSync(join(out, "last.safetensors")).equals(before.last)).toBe(true)
        expect(readFileSync(join(out, "checkpoint.safetensors")).equals(before.best)).toBe(true)
        for (const f of ["last.safetensors", "checkpoint.safetensors"]) {
          const s = yield* readCheckpoint(join(out, f))
          for (const t of Object.values(s.tensors)) expect(t.data.every(Number.isFinite)).toBe(true)
        }
      }).pipe(Effect.provide(env("wasm")))
  )

  it.effect(
    "names the FISTA codes, the energy, or the weights, whichever broke first; in the first epoch only the starting point is saved",
    () =>
      Effect.gen(function* () {
        const out = (name: string) => join(mkdtempSync(join(tmpdir(), "diverge-")), name)
        // The paper's FISTA, whose fixed step a huge --eta breaks (the adaptive step would recover).
        const common = [
          "--model",
          "vdl",
          "--inference",
          "fista",
          "--code-dim",
          "16",
          "--batch-size",
          "50",
          "--train-size",
          "200",
          "--epochs",
          "2",
          "--backend",
          "wasm"
        ]
        const tail = (dir: string) =>
          `Lower the learning rates (--decoder-lr, --encoder-lr) or the FISTA step (--eta), or set --eta to lipschitz. Only the starting point is saved (${join(dir, "last.safetensors")}): it diverged in the first epoch.`
        const codes = out("codes")
        expect(yield* runCli(...common, "--gamma", "0", "--eta", "1e6", "--out", codes)).toEqual({
          ok: false,
          tag: "DivergenceError",
          message: expect.stringMatching(
            new RegExp(
              `^training diverged at epoch 1, batch 1: NaN or infinity in the FISTA codes \\(\\d+ entries\\)\\. ${tail(codes).replace(/[.()]/g, "\\$&")}$`
            )
          )
        })
        // What is saved is the untouched start: a resume would begin the run again.
        const start = yield* readResumePoint(codes)
        expect(start.progress.next).toEqual({ epoch: 0, batch: 0 })
        const energy = out("energy")
        expect(yield* runCli(...common, "--decoder-lr", "1e10", "--out", energy)).toEqual({
          ok: false,
          tag: "DivergenceError",
          message: `training diverged at epoch 1, batch 2: NaN or infinity in the energy of the FISTA codes. ${tail(energy)}`
        })
        const weights = out("weights")
        expect(yield* runCli(...common, "--decoder-lr", "1e39", "--out", weights)).toEqual({
          ok: false,
          tag: "DivergenceError",
          message: `training diverged at epoch 1, batch 1: NaN or infinity in the model tensor decoder.W1 after the update. ${tail(weights)}`
        })
      })
  )
})
