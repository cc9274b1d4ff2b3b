/**
 * The PyTorch round trip: a model exported in PyTorch's layout, loaded by experiments/torch_load.py
 * into plain torch modules (Debian's python3-torch), gives the encoder's codes and the
 * reconstructions sparse-vdl gives, within 1e-5. Under CI (CI=true) a missing torch fails the
 * test; elsewhere the test is skipped, saying why.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encodeSafetensors } from "../../src/data/safetensors.js"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { variants } from "../../src/models/variants.js"
import { snapshotModel, writeCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { mnistNormalization } from "../../src/pipeline/sources/mnist-normalization.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { exportTorch } from "../../src/pipeline/use/torch-export.js"
import { runToEnd } from "../helpers/commands.js"
import { env } from "../helpers/mnist-runs.js"
import { pixelsOf, smallRun } from "../use/small-run.js"

const python = "/usr/bin/python3"
const torchProbe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" })
const hasTorch = torchProbe.status === 0
const required = process.env.CI === "true"
const missing = `PyTorch cannot be imported by ${python} (${(torchProbe.stderr ?? String(torchProbe.error ?? "")).trim().split("\n").at(-1)}); install it with apt-get install -y python3-torch`
if (!hasTorch && !required) console.warn(`skipping the PyTorch round trip: ${missing}`)

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** The model at `path` through torch and through sparse-vdl, on the same rows of pixels. */
const roundTrip = (path: string, pixels: Float32Array, rows: number) =>
  Effect.gen(function* () {
    const dir = mkdtempSync(join(tmpdir(), "torch-"))
    const exported = join(dir, "model-torch.safetensors")
    yield* exportTorch(path, exported)
    const rowsFile = join(dir, "rows.safetensors")
    writeFileSync(rowsFile, encodeSafetensors({ pixels: { shape: [rows, pixels.length / rows], data: pixels } }))
    const run = yield* Effect.promise(() =>
      runToEnd(python, ["experiments/torch_load.py", exported, rowsFile], 180_000)
    )
    expect(run.status, run.stderr).toBe(0)
    const torch = JSON.parse(run.stdout) as { codes: number[][]; reconstructions: number[][] }
    const ours = yield* Effect.scoped(
      Effect.gen(function* () {
        const model = yield* loadModel(path)
        return {
          codes: yield* model.encode(pixels),
          reconstructions: yield* model.reconstruct(pixels, { codes: "encoder" })
        }
      })
    )
    return {
      codes: maxAbsDiff(torch.codes.flat(), ours.codes),
      reconstructions: maxAbsDiff(torch.reconstructions.flat(), ours.reconstructions)
    }
  })

describe("the PyTorch export", () => {
  it.effect.skipIf(!hasTorch && !required)(
    "loads into plain torch modules that reproduce our codes and reconstructions within 1e-5",
    () =>
      Effect.gen(function* () {
        expect(hasTorch, missing).toBe(true)
        // A trained linear decoder (VDL), on validation digits.
        const { data, out } = yield* smallRun
        const linear = yield* roundTrip(out, pixelsOf(data.val, 6), 6)
        expect(linear.codes).toBeLessThan(1e-5)
        expect(linear.reconstructions).toBeLessThan(1e-5)

        // A one-hidden-layer decoder (VDL-NL's shape: Linear, ReLU, Linear), from its initial weights.
        const settings = { ...variants["vdl-nl"].settings.mnist, codeDim: 16, hidden: [32] }
        const m = makeModel(settings, 784, rngFor(8, "init"))
        const file = join(mkdtempSync(join(tmpdir(), "torch-nl-")), "checkpoint.safetensors")
        yield* writeCheckpoint(
          file,
          snapshotModel(m, "vdl-nl", 0, undefined, { height: 28, width: 28, normalization: mnistNormalization })
        )
        disposeModel(m)
        const deep = yield* roundTrip(file, pixelsOf(data.val, 6), 6)
        expect(deep.codes).toBeLessThan(1e-5)
        expect(deep.reconstructions).toBeLessThan(1e-5)
      }).pipe(Effect.provide(env()))
  )
})
