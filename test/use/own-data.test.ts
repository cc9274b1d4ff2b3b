/**
 * Training on data of one's own from the command line (experiments/train-data.ts): an Arrow file
 * of pixel rows and a folder of images, generated here, small; the normalisation recorded and
 * used again by a loaded model; bad input refused with the file and the fix.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Field, FixedSizeList, Float32, makeData, RecordBatch, Schema, Struct, Table, tableToIPC } from "apache-arrow"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { commandLineMessage } from "../../src/cli/options.js"
import { trainDataCli } from "../../src/cli/commands/train-data.js"
import { makeRng } from "../../src/data/random.js"
import { ownDataSplits } from "../../src/pipeline/sources/own-data.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { env, quiet } from "../helpers/mnist-runs.js"
import { pixelsOf } from "./small-run.js"

const root = mkdtempSync(join(tmpdir(), "own-data-"))

/** rows 8×8 images, each a sum of two of four bars, in [0, 1]. */
const bars = (rows: number, seed: number): Float32Array => {
  const rng = makeRng(seed)
  const out = new Float32Array(rows * 64)
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < 2; k++) {
      const bar = rng.int(4)
      const strength = 0.3 + 0.3 * rng.next()
      for (let i = 0; i < 8; i++) {
        const at = bar < 2 ? (2 + 3 * bar) * 8 + i : i * 8 + 2 + 3 * (bar - 2)
        out[r * 64 + at] = Math.min(1, out[r * 64 + at] + strength)
      }
    }
  }
  return out
}

const arrowFile = (name: string, values: Float32Array, dim: number, schemaMeta: Record<string, string> = {}) => {
  const type = new FixedSizeList(dim, new Field("item", new Float32(), false))
  const rows = values.length / dim
  const schema = new Schema([new Field("pixels", type, false)], new Map(Object.entries(schemaMeta)))
  const column = makeData({
    type,
    length: rows,
    nullCount: 0,
    child: makeData({ type: new Float32(), length: values.length, data: values })
  })
  const path = join(root, name)
  writeFileSync(
    path,
    tableToIPC(
      new Table([
        new RecordBatch(
          schema,
          makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [column] })
        )
      ]),
      "file"
    )
  )
  return path
}

const imageFolder = async (name: string, values: Float32Array, sizes: ReadonlyArray<readonly [number, number]>) => {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  for (let r = 0; r < values.length / 64; r++) {
    const bytes = Buffer.from(Array.from(values.subarray(r * 64, (r + 1) * 64), (p) => Math.round(p * 255)))
    const [w, h] = sizes[r % sizes.length]
    await sharp(bytes, { raw: { width: 8, height: 8, channels: 1 } })
      .resize(w, h, { fit: "fill" })
      .png()
      .toFile(join(dir, `img-${String(r).padStart(3, "0")}.png`))
  }
  return dir
}

const small = [
  "--model",
  "vdl",
  "--code-dim",
  "8",
  "--batch-size",
  "10",
  "--epochs",
  "2",
  "--backend",
  "wasm",
  "--seed",
  "2"
]

const run = (...args: string[]) =>
  trainDataCli(["node", "train-data", ...args]).pipe(
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)),
    Effect.exit,
    Effect.map((exit) =>
      Exit.isSuccess(exit)
        ? "ok"
        : ((Option.getOrUndefined(Cause.failureOption(exit.cause)) as { message?: string } | undefined)?.message ??
          Cause.pretty(exit.cause))
    )
  )

const checkpointInput = (out: string) => {
  const raw = readFileSync(join(out, "checkpoint.safetensors"))
  return JSON.parse(JSON.parse(raw.subarray(8, 8 + Number(raw.readBigUInt64LE(0))).toString("utf8")).__metadata__.input)
}

describe("training on one's own data", () => {
  it.effect("--target-sparsity chooses λ before the run and summary.json records it", () =>
    Effect.gen(function* () {
      const file = arrowFile("bars-sparsity.arrow", bars(150, 3), 64, { shape: "8,8" })
      const out = join(root, "sparsity-run")
      expect(yield* run("--arrow", file, "--out", out, "--target-sparsity", "0.5", ...small)).toBe("ok")
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
      const tries = summary.data.lambdaSearch as Array<{ lambda: number; zeroFraction: number }>
      expect(summary.data.targetSparsity).toBe(0.5)
      expect(tries.length).toBeGreaterThan(0)
      const closest = tries.reduce((a, b) => (Math.abs(b.zeroFraction - 0.5) < Math.abs(a.zeroFraction - 0.5) ? b : a))
      expect(summary.settings.lambda).toBe(closest.lambda)
    })
  )

  it.effect(
    "from an Arrow file: a run folder whose checkpoint records the normalisation a loaded model then applies",
    () =>
      Effect.gen(function* () {
        const x = bars(150, 1)
        const file = arrowFile("bars.arrow", x, 64, { shape: "8,8" })
        const out = join(root, "arrow-run")
        expect(yield* run("--arrow", file, "--normalize", "per-feature", "--out", out, ...small)).toBe("ok")
        for (const f of [
          "summary.json",
          "metrics.arrow",
          "checkpoint.safetensors",
          "last.safetensors",
          "reconstructions.png"
        ])
          expect(existsSync(join(out, f)), f).toBe(true)
        const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
        expect(summary.data).toMatchObject({
          train: 120,
          val: 15,
          test: 15,
          arrow: { file, column: null },
          normalize: "per-feature"
        })
        const input = checkpointInput(out)
        expect(input).toMatchObject({ height: 8, width: 8, normalization: { kind: "per-feature" } })
        expect(input.normalization.mean).toHaveLength(64)
        // The run's test rows, in pixels, through the loaded model: the PSNR the run measured through its own normalisation.
        const { test } = yield* ownDataSplits(
          { source: "bars", x, rows: 150, height: 8, width: 8 },
          { seed: 2, valFraction: 0.1, testFraction: 0.1, normalize: "per-feature" }
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel(out)
            const pixels = pixelsOf(test)
            const recon = yield* model.reconstruct(pixels, { codes: "encoder" })
            let psnr = 0
            for (let r = 0; r < test.rows; r++) {
              let se = 0
              for (let j = r * 64; j < (r + 1) * 64; j++) se += (recon[j] - pixels[j]) ** 2
              psnr += (10 * Math.log10(64 / se)) / test.rows
            }
            expect(psnr).toBeCloseTo(summary.test.psnr, 2)
          })
        ).pipe(Effect.provide(env()))
      })
  )

  it.effect("from a folder of images, all of one size or resized with --size", () =>
    Effect.gen(function* () {
      const x = bars(60, 2)
      const same = yield* Effect.promise(() => imageFolder("same", x, [[8, 8]]))
      const out = join(root, "images-run")
      expect(yield* run("--images", same, "--out", out, ...small)).toBe("ok")
      expect(checkpointInput(out)).toMatchObject({ height: 8, width: 8, normalization: { kind: "global" } })
      const ragged = yield* Effect.promise(() =>
        imageFolder("ragged", x, [
          [8, 8],
          [12, 10]
        ])
      )
      expect(yield* run("--images", ragged, "--out", join(root, "ragged-run"), ...small)).toBe(
        `data ${ragged}: ${join(ragged, "img-001.png")} is 12×10 but ${join(ragged, "img-000.png")} is 8×8; every image must have one size, or pass --size N to resize them all to N×N`
      )
      expect(yield* run("--images", ragged, "--size", "8", "--out", join(root, "resized-run"), ...small)).toBe("ok")
    })
  )

  it.effect("refuses bad data and bad options with the file and the fix", () =>
    Effect.gen(function* () {
      const x = bars(30, 3)
      x[7 * 64 + 3] = NaN
      const file = arrowFile("nan.arrow", x, 64)
      expect(yield* run("--arrow", file, "--out", join(root, "nan-run"), ...small)).toBe(
        `vector file ${file}: row 7 of column "pixels" holds NaN at position 3; every value must be a finite number (drop or repair that row)`
      )
      expect(yield* run("--out", join(root, "none"), ...small)).toBe(
        "option --arrow: give the data as exactly one of --arrow FILE or --images DIR"
      )
      const tiny = arrowFile("tiny.arrow", bars(11, 4), 64)
      expect(yield* run("--arrow", tiny, "--out", join(root, "tiny-run"), ...small)).toBe(
        "option --batch-size: a batch of 10 is more than the 9 training rows, so an epoch would have no batch; lower --batch-size or use more rows"
      )
    })
  )

  it.effect("splits with the seed and fits the normalisation on the training rows only", () =>
    Effect.gen(function* () {
      const x = bars(100, 5)
      const splits = yield* ownDataSplits(
        { source: "bars", x, rows: 100, height: 8, width: 8 },
        { seed: 3, valFraction: 0.2, testFraction: 0.1, normalize: "global" }
      )
      expect([splits.train.rows, splits.val.rows, splits.test.rows]).toEqual([70, 20, 10])
      const n = splits.train.normalization
      if (n?.kind !== "global") throw new Error("expected a global normalisation")
      // The training rows, normalised, have mean 0 and std 1; the held-out rows need not.
      const mean = splits.train.x.reduce((a, b) => a + b, 0) / splits.train.x.length
      const std = Math.sqrt(splits.train.x.reduce((a, b) => a + (b - mean) ** 2, 0) / splits.train.x.length)
      expect(mean).toBeCloseTo(0, 4)
      expect(std).toBeCloseTo(1, 4)
      const again = yield* ownDataSplits(
        { source: "bars", x, rows: 100, height: 8, width: 8 },
        { seed: 3, valFraction: 0.2, testFraction: 0.1, normalize: "global" }
      )
      expect(again.test.x).toEqual(splits.test.x)
      const refused = yield* Effect.flip(
        ownDataSplits(
          { source: "bars", x, rows: 100, height: 8, width: 8 },
          { seed: 3, valFraction: 0, testFraction: 0.1, normalize: "none" }
        )
      )
      expect(refused.message).toBe(
        "data bars: the validation fraction 0 is not between 0 and 1 (exclusive); set valFraction to 0.1, say"
      )
      expect(commandLineMessage(refused)).toBe(`${refused.message} (option --val-fraction)`)
    })
  )
})
