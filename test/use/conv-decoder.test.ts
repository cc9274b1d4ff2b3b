/**
 * The convolutional decoder, added as one file and one registry line, from the command line: a
 * 1-epoch run on the embedded digits writes a complete run folder with its atoms pictured, resumes
 * to a second epoch, and refuses a code size its code map cannot hold, naming the option; its
 * model has no PyTorch layout, and the export says so.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PNG } from "pngjs"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { exportTorch } from "../../src/pipeline/use/torch-export.js"
import { runCli } from "../helpers/commands.js"

const common = [
  "--decoder",
  "conv",
  "--hidden",
  "8",
  "--code-dim",
  "98",
  "--train-size",
  "250",
  "--max-steps",
  "30",
  "--backend",
  "wasm",
  "--seed",
  "3"
]

describe("the conv decoder from the command line", () => {
  it.effect(
    "trains an epoch into a complete run folder, atoms pictured, and resumes to a second",
    () =>
      Effect.gen(function* () {
        const out = join(mkdtempSync(join(tmpdir(), "conv-")), "run")
        expect(yield* runCli(...common, "--epochs", "1", "--out", out)).toEqual({ ok: true, message: "" })
        const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
        expect(summary.settings.decoder).toBe("conv")
        expect(summary.files).toContain("decoder-atoms.png")
        for (const f of summary.files as string[]) expect(existsSync(join(out, f)), f).toBe(true)
        // One 28×28 tile per code component (98 → a 10 × 10 grid, zoom 2, 1-pixel borders).
        const atoms = PNG.sync.read(readFileSync(join(out, "decoder-atoms.png")))
        expect(atoms.width).toBe(10 * 56 + 11)
        const first = yield* readCheckpoint(join(out, "last.safetensors"))
        expect(
          Object.keys(first.tensors)
            .filter((n) => n.startsWith("decoder.") && n.split(".").length === 2)
            .sort()
        ).toEqual(["decoder.W1", "decoder.W2", "decoder.b1"])
        // The optimizer's state of each parameter, under the transform's name.
        expect(
          Object.keys(first.tensors)
            .filter((n) => n.startsWith("decoder.adam.m."))
            .sort()
        ).toEqual(["decoder.adam.m.W1", "decoder.adam.m.W2", "decoder.adam.m.b1"])
        expect(first.tensors["decoder.W1"].shape).toEqual([4, 4, 8, 2])

        expect(yield* runCli("--resume", out, "--epochs", "2")).toEqual({ ok: true, message: "" })
        const resumed = yield* readCheckpoint(join(out, "last.safetensors"))
        expect(resumed.epoch).toBe(1)
        expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).epochs).toBe(2)
        expect(Array.from(resumed.tensors["decoder.W1"].data)).not.toEqual(Array.from(first.tensors["decoder.W1"].data))

        const exported = join(out, "torch.safetensors")
        const refused = yield* Effect.flip(exportTorch(out, exported))
        expect(refused._tag).toBe("TorchExportError")
        expect(refused.message).toContain("its conv decoder has no PyTorch layout")
        expect(existsSync(exported)).toBe(false)
      }),
    600_000
  )

  it.effect(
    "refuses a code size that is not a whole number of channels on its code map, naming the option and a size that fits",
    () =>
      Effect.gen(function* () {
        const out = join(mkdtempSync(join(tmpdir(), "conv-")), "run")
        const r = yield* runCli(
          "--decoder",
          "conv",
          "--hidden",
          "8",
          "--code-dim",
          "100",
          "--train-size",
          "250",
          "--epochs",
          "1",
          "--backend",
          "wasm",
          "--out",
          out
        )
        expect(r.ok).toBe(false)
        expect(r.message).toContain("--code-dim")
        expect(r.message).toContain("7×7")
        expect(r.message).toContain("code size of 98")
      })
  )
})
