/**
 * Our PyTorch implementation of the training loop, experiments/torch_reference.py (the default
 * --torch-script of `sparse-vdl bench --vs-torch`): on the small MNIST fixture it trains, prints
 * the JSON line the benchmark reads with finite, sensible figures, and, started from our initial
 * weights and data order through experiments/torch_energy.py --start (the folder written by the
 * benchmark's own writeStart), its first batch has our energy within 0.5 %. The fixture has 16
 * training rows, so both sides use batches of 8 (the reference's --batch-size). Under CI
 * (CI=true) a missing torch fails the test; elsewhere the test is skipped, saying why.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeStart } from "../../src/cli/commands/bench.js"
import type { BatchTotals } from "../../src/models/model.js"
import { variantOf } from "../../src/models/variants.js"
import { mapSplits } from "../../src/pipeline/sources/dataset.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../../src/pipeline/sources/mnist.js"
import { trainingLoop } from "../../src/pipeline/train/loop.js"
import { runToEnd } from "../helpers/commands.js"
import { env } from "../helpers/mnist-runs.js"

const python = "/usr/bin/python3"
const torchProbe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" })
const hasTorch = torchProbe.status === 0
const required = process.env.CI === "true"
const missing = `PyTorch cannot be imported by ${python} (${(torchProbe.stderr ?? String(torchProbe.error ?? "")).trim().split("\n").at(-1)}); install it with apt-get install -y python3-torch`
if (!hasTorch && !required) console.warn(`skipping the PyTorch reference: ${missing}`)

const fixture = "test/fixtures/mnist-small"
const reference = "experiments/torch_reference.py"
const batchSize = 8
const seed = 3

interface ReferenceResult {
  readonly samples_per_second: number
  readonly psnr_fista: number
  readonly zero_fraction: number
  readonly mean_fista_steps: number
  readonly val_psnr_encoder: number
  readonly val_zero_fraction_encoder: number
  readonly energy?: number
}

/** The script's last stdout line, parsed, with a single thread as the benchmark's first setting. */
const runPython = (args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    runToEnd(
      python,
      [...args, "--mnist", fixture, "--batch-size", String(batchSize), "--threads", "1", "--json"],
      60_000
    )
  ).pipe(
    Effect.map((run) => {
      expect(run.status, run.stderr).toBe(0)
      return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "") as ReferenceResult
    })
  )

/** Our first batch from our starting point, which is written to a fresh folder for the reference. */
const oursFromStart = (model: string) =>
  Effect.gen(function* () {
    const raw = yield* loadMnist({ kind: "dir", dir: fixture })
    const data = mapSplits(splitStage(seed)(raw), (s, name) => normalizeMnistStage(name)(s))
    const dir = mkdtempSync(join(tmpdir(), "torch-start-"))
    const settings = { ...variantOf(model)!.settings.mnist, batchSize }
    let first: BatchTotals | null = null
    yield* Effect.scoped(
      trainingLoop(
        {
          model,
          settings,
          epochs: 1,
          seed,
          batchLimit: 1,
          hooks: [
            {
              onStart: ({ model: m }) => writeStart(dir, model, m, data.train.rows, 1, seed),
              onBatch: (b) => Effect.sync(() => void (first = b.totals))
            }
          ]
        },
        data
      )
    )
    const totals = first as BatchTotals | null
    if (totals === null) throw new Error("our run took no batch")
    return { dir, energy: totals.energy / totals.rows }
  })

describe("the shipped PyTorch reference", () => {
  for (const model of ["vdl", "sdl-nl"]) {
    it.effect.skipIf(!hasTorch && !required)(
      `${model}: trains, reports sensible figures, and from our start has our first-batch energy within 0.5 %`,
      () =>
        Effect.gen(function* () {
          expect(hasTorch, missing).toBe(true)
          // Three batches of 8 over two epochs of the 16 training rows: a fresh order each epoch.
          const r = yield* runPython([reference, "--model", model, "--batches", "3"])
          for (const v of Object.values(r)) if (typeof v === "number") expect(Number.isFinite(v)).toBe(true)
          expect(r.samples_per_second).toBeGreaterThan(0)
          for (const psnr of [r.psnr_fista, r.val_psnr_encoder]) {
            expect(psnr).toBeGreaterThan(3)
            expect(psnr).toBeLessThanOrEqual(40)
          }
          for (const zeros of [r.zero_fraction, r.val_zero_fraction_encoder]) {
            expect(zeros).toBeGreaterThanOrEqual(0)
            expect(zeros).toBeLessThanOrEqual(1)
          }
          expect(r.mean_fista_steps).toBeGreaterThanOrEqual(1)
          expect(r.mean_fista_steps).toBeLessThanOrEqual(200)

          const ours = yield* oursFromStart(model)
          const same = yield* runPython([
            "experiments/torch_energy.py",
            reference,
            "--start",
            ours.dir,
            "--model",
            model,
            "--batches",
            "1"
          ])
          expect(same.energy).toBeDefined()
          expect(Math.abs((same.energy ?? NaN) - ours.energy) / ours.energy).toBeLessThan(0.005)
        }).pipe(Effect.provide(env()))
    )
  }
})
