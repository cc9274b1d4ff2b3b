import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PNG } from "pngjs"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { RunRequest } from "../../src/pipeline/jobs/plan.js"
import { continuation } from "../../src/pipeline/jobs/process.js"
import { commandSync, spawnCommand } from "../helpers/commands.js"
import { texture, writePhotos } from "../helpers/photos.js"

const patches = (...args: string[]) => commandSync("experiments/patches.ts", ...args)

const root = mkdtempSync(join(tmpdir(), "patches-cli-"))
const photos = join(root, "photos")
const testPhotos = join(root, "test-photos")
const data = join(root, "out", "patches.arrow")

beforeAll(async () => {
  await writePhotos(photos, [texture("a.jpg", 80, 64, 1), texture("b.png", 64, 90, 2)])
  await writePhotos(join(root, "more"), [texture("c.jpg", 70, 70, 3)])
  await writePhotos(testPhotos, [texture("t.jpg", 90, 60, 4)])
})

describe("experiments/patches.ts", () => {
  it("builds a patch file from folders given twice and as a comma list, then trains on it", () => {
    const b = patches(
      "build",
      "--images",
      photos,
      "--images",
      `${join(root, "more")},${photos}`,
      "--test-images",
      testPhotos,
      "--out",
      data,
      "--train",
      "300",
      "--val",
      "60",
      "--test",
      "60",
      "--seed",
      "3"
    )
    expect(b.status, b.stderr).toBe(0)
    expect(b.stderr).toMatch(
      /photos: 3 for train\/validation, 1 for test \(from the test folders\); 2 duplicate photo\(s\) ignored/
    )
    expect(b.stderr).toMatch(/patches 420\/420 \d+ rows\/s, kept [\d.]+% of crops/)
    expect(b.stderr).toMatch(
      /wrote .*patches\.arrow: 300 train \/ 60 val \/ 60 test patches in [\d.]+ s \(\d+ rows\/s\); kept [\d.]+% of \d+ crops/
    )
    expect(b.stderr).toMatch(/patch: mean -?[\d.]+ std [\d.]+ min -?[\d.]+ max [\d.]+ \| μ: .* \| s: /)
    const report = JSON.parse(readFileSync(`${data}.json`, "utf8"))
    expect(report.rows).toEqual({ train: 300, val: 60, test: 60 })
    expect(report.keptFraction).toBeGreaterThan(0)

    const out = join(root, "run")
    const t = patches(
      "train",
      "--data",
      data,
      "--model",
      "vdl",
      "--epochs",
      "1",
      "--code-dim",
      "16",
      "--batch-size",
      "50",
      "--out",
      out
    )
    expect(t.status, t.stderr).toBe(0)
    expect(t.stderr).toMatch(/data: 300 train \/ 60 val \/ 60 test rows of 784 values/)
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
    expect(summary).toMatchObject({
      model: "vdl",
      epochs: 1,
      settings: { codeDim: 16, lambda: 0.01, beta: 10, gamma: 5 }
    })
    expect(summary.data).toMatchObject({ train: 300, val: 60, test: 60, patchFile: data })
    expect(summary.val.psnr).toBeGreaterThan(5)
    // 16 atoms of 28×28 at zoom 2 in a 4×4 grid, one pixel apart: a 229-pixel square.
    const png = PNG.sync.read(readFileSync(join(out, "decoder-columns.png")))
    expect([png.width, png.height]).toEqual([4 * 56 + 5, 4 * 56 + 5])
  })

  it("continues a patch run with --resume on the file it records, and refuses options that disagree with it", async () => {
    const out = join(root, "run")
    // The sweep's runners continue it too: the request of a two-epoch run finds the one-epoch run's state.
    const { settings } = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
    const request: RunRequest = {
      name: "vdl",
      model: "vdl",
      lambda: settings.lambda,
      command: "patches-train",
      out,
      args: ["--data", data, "--model", "vdl", "--epochs", "2", "--code-dim", "16", "--batch-size", "50", "--out", out],
      expected: {
        model: "vdl",
        seed: 31,
        epochs: 2,
        settings: { ...settings, epochs: 2 },
        data: { _tag: "file", path: data },
        backend: null
      }
    }
    const go = await Effect.runPromise(continuation(request))
    expect(go).toMatchObject({ from: "epoch 2 batch 0", note: null })
    expect(go.run.args.slice(-2)).toEqual(["--resume", out])
    // Another run's folder: refused, unless the job asks to replace it.
    const elsewhereRequest = {
      ...request,
      expected: { ...request.expected, data: { _tag: "file" as const, path: join(root, "other.arrow") } }
    }
    const refused = await Effect.runPromise(Effect.flip(continuation(elsewhereRequest)))
    expect(refused.message).toMatch(
      /holds another run .*: it was trained on .*patches\.arrow, not .*other\.arrow\. A new run does not replace it/
    )
    const elsewhere = await Effect.runPromise(
      continuation({ ...elsewhereRequest, args: [...request.args, "--overwrite"] })
    )
    expect(elsewhere.from).toBeNull()
    expect(elsewhere.note).toMatch(
      /it was trained on .*patches\.arrow, not .*other\.arrow\); starting afresh, replacing it, as --overwrite asks/
    )

    const other = patches("train", "--resume", out, "--model", "sdl")
    expect(other.status).not.toBe(0)
    expect(other.stderr).toMatch(/--model.*trained with --model vdl, not sdl/)
    const noData = patches("train", "--model", "vdl")
    expect(noData.status).not.toBe(0)
    expect(noData.stderr).toMatch(/--data.*give the patch file to train on/)

    const r = patches("train", ...go.run.args)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/resuming .*run \(vdl\) at epoch 2 batch 0, for 2 epochs in all/)
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
    expect(summary).toMatchObject({ model: "vdl", epochs: 2, settings: { codeDim: 16, batchSize: 50 } })
    expect(summary.data).toMatchObject({ patchFile: data, train: 300 })
  })

  it("leaves the previous file untouched and no temp file when a build is interrupted", async () => {
    const folder = mkdtempSync(join(tmpdir(), "patches-interrupt-"))
    const out = join(folder, "patches.arrow")
    writeFileSync(out, "previous")
    const build = spawnCommand("experiments/patches.ts", [
      "build",
      "--images",
      photos,
      "--test-images",
      testPhotos,
      "--out",
      out,
      "--train",
      "1000000"
    ])
    const { child } = build
    try {
      // Interrupt once rows are being written to the temp file.
      await build.waitFor(/photos:/, 60_000)
      for (let waited = 0; !readdirSync(folder).some((n) => n.includes(".tmp-")); waited += 100) {
        if (child.exitCode !== null || waited > 60_000)
          throw new Error(`the build did not start writing: ${build.output()}`)
        await new Promise((r) => setTimeout(r, 100))
      }
      await new Promise((r) => setTimeout(r, 500))
      child.kill("SIGINT")
      const stopped = await Promise.race([
        build.exited.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 20_000))
      ])
      expect(stopped, `the build did not stop on SIGINT: ${build.output()}`).toBe(true)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
    }
    expect(readFileSync(out, "utf8")).toBe("previous")
    expect(readdirSync(folder)).toEqual(["patches.arrow"])
  })
})
