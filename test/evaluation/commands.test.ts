/**
 * The evaluation commands end to end, as a person runs them: two tiny runs trained on a slice of
 * the embedded digits, then denoise, classify and report, and the report opened in headless
 * Chromium to check that it renders with its pictures, tables and plots.
 */
import { Effect } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PNG } from "pngjs"
import { beforeAll, describe, expect, it } from "vitest"
import { numberList } from "../../src/cli/evaluation-options.js"
import { readArrowIpc } from "../../src/data/table.js"
import { readRunFolders } from "../../src/pipeline/evaluation/run-folder.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { runToEnd } from "../helpers/commands.js"
import { env, smallData, smallSettings } from "../helpers/mnist-runs.js"

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Chromium is a test dependency like any other: a missing one fails the test instead of skipping it. */
const requireChromium = (): string => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `headless Chromium is needed at ${CHROMIUM} to check that the report renders, and it is missing: ` +
        "install Debian's package with `apt-get update && apt-get install -y chromium` (.ci/run does this in CI), or set CHROMIUM_PATH"
    )
  }
  return CHROMIUM
}

const chromium = (...args: string[]) =>
  runToEnd(
    requireChromium(),
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`,
      ...args
    ],
    90_000
  )

const command = (script: string, ...args: string[]) =>
  runToEnd(process.execPath, ["--import", "tsx", `experiments/${script}.ts`, ...args], 240_000)

const root = mkdtempSync(join(tmpdir(), "evaluation-"))
const runA = join(root, "vdl-tiny")
const runB = join(root, "sdl-tiny")

beforeAll(async () => {
  await Effect.runPromise(
    Effect.gen(function* () {
      const data = yield* smallData(300)
      for (const [model, out] of [
        ["vdl", runA],
        ["sdl", runB]
      ] as const) {
        yield* trainRun(
          {
            model,
            settings: smallSettings(model),
            epochs: 2,
            seed: 5,
            out,
            describe: { mnist: { kind: "embedded" }, trainSize: 300 }
          },
          data
        )
      }
    }).pipe(Effect.provide(env()))
  )
})

describe("evaluation commands", () => {
  it("denoise writes a table, a plot and pictures for every run into the first run's folder", async () => {
    const r = await command("denoise", runA, runB, "--sigma", "0,1", "--limit", "60", "--examples", "3")
    expect(r.status, r.stderr).toBe(0)
    const out = join(runA, "denoise")
    for (const f of [
      "denoise.arrow",
      "denoise.csv",
      "denoise.md",
      "denoise-psnr.svg",
      "denoise.json",
      "examples-vdl-tiny.png",
      "examples-sdl-tiny.png"
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true)
    }
    const rows = readArrowIpc(new Uint8Array(readFileSync(join(out, "denoise.arrow"))))
    expect(rows.map((row) => `${row.run} ${row.codes} ${row.sigma}`)).toEqual([
      "vdl-tiny encoder 0",
      "vdl-tiny fista 0",
      "vdl-tiny encoder 1",
      "vdl-tiny fista 1",
      "sdl-tiny encoder 0",
      "sdl-tiny fista 0",
      "sdl-tiny encoder 1",
      "sdl-tiny fista 1"
    ])
    for (const row of rows) {
      expect(row.images).toBe(60)
      // Noise of std 1 in normalised space is 0.3081 in pixels: −20·log₁₀(0.3081) = 10.23 dB.
      expect(row.noisyPsnr as number).toBeCloseTo(row.sigma === 0 ? 40 : 10.23, row.sigma === 0 ? 4 : 0)
      expect(Number.isFinite(row.denoisedPsnr as number)).toBe(true)
    }
    // 3 images, each a row of clean + (noisy, encoder, FISTA) per σ, zoomed twice.
    const png = PNG.sync.read(readFileSync(join(out, "examples-vdl-tiny.png")))
    expect(png.width).toBeGreaterThan(7 * 56)
    expect(png.height).toBeGreaterThan(3 * 56)
    expect(readFileSync(join(out, "denoise-psnr.svg"), "utf8")).toContain("noisy input")
  })

  it("classify trains every series at every K and writes mean and spread over repeats", async () => {
    const r = await command(
      "classify",
      runA,
      runB,
      "--per-class",
      "1,3",
      "--seeds",
      "2",
      "--epochs",
      "3",
      "--val-limit",
      "100",
      "--test-limit",
      "100"
    )
    expect(r.status, r.stderr).toBe(0)
    const out = join(runA, "classify")
    for (const f of [
      "classify.arrow",
      "classify.csv",
      "classify.md",
      "classify-repeats.arrow",
      "classify-accuracy.svg",
      "classify.json"
    ])
      expect(existsSync(join(out, f)), f).toBe(true)
    const rows = readArrowIpc(new Uint8Array(readFileSync(join(out, "classify.arrow"))))
    expect([...new Set(rows.map((row) => row.series))]).toEqual([
      "pixels",
      "vdl-tiny encoder",
      "vdl-tiny FISTA",
      "sdl-tiny encoder",
      "sdl-tiny FISTA",
      "LISTA end to end"
    ])
    expect(rows).toHaveLength(12)
    for (const row of rows) {
      expect(row.repeats).toBe(2)
      expect(row.accuracyMean as number).toBeGreaterThanOrEqual(0)
      expect(row.accuracyMean as number).toBeLessThanOrEqual(1)
      expect(row.accuracyStd as number).toBeGreaterThanOrEqual(0)
      expect(row.bestEpochMean as number).toBeGreaterThanOrEqual(1)
    }
    expect(readArrowIpc(new Uint8Array(readFileSync(join(out, "classify-repeats.arrow"))))).toHaveLength(24)
  })

  it("report writes one HTML page that Chromium renders with its pictures, tables and plots", async () => {
    const page = join(root, "report", "report.html")
    const r = await command("report", runA, runB, "--out", page)
    expect(r.status, r.stderr).toBe(0)
    const html = readFileSync(page, "utf8")
    // Self-contained: nothing is fetched from elsewhere.
    expect(html).not.toMatch(/<(img|script|link)[^>]+(src|href)="(?!data:|#)/)
    expect(html).not.toContain("No denoising results")
    expect(html).not.toContain("No classification results")

    const dom = await chromium("--virtual-time-budget=5000", "--dump-dom", `file://${page}`)
    expect(dom.status, dom.stderr).toBe(0)
    const body = /<body([^>]*)>/.exec(dom.stdout)?.[1] ?? ""
    // Per run: decoder columns and reconstructions (linear decoders have no atoms page); one denoising picture per run.
    expect(body).toContain('data-images="6"')
    expect(body).toContain('data-broken-images="0"')
    expect((dom.stdout.match(/<table/g) ?? []).length).toBeGreaterThanOrEqual(5)
    expect((dom.stdout.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(5)
    for (const text of [
      "Settings",
      "Training curves",
      "Denoising",
      "Low-data classification",
      "vdl-tiny FISTA",
      "LISTA end to end",
      "noisy input"
    ])
      expect(dom.stdout).toContain(text)

    const shot = join(root, "report", "shot.png")
    const s = await chromium("--hide-scrollbars", "--window-size=1200,3000", `--screenshot=${shot}`, `file://${page}`)
    expect(s.status, s.stderr).toBe(0)
    const png = PNG.sync.read(readFileSync(shot))
    expect([png.width, png.height]).toEqual([1200, 3000])
    const greys = new Set<number>()
    for (let p = 0; p < png.data.length; p += 4 * 97) greys.add(png.data[p])
    expect(greys.size, "the screenshot is blank").toBeGreaterThan(20)
  })

  it("names the problem and the fix when a folder is not a run or an option is wrong", async () => {
    const notRun = await Effect.runPromise(Effect.either(readRunFolders([runA, root])))
    expect(notRun._tag).toBe("Left")
    if (notRun._tag === "Left")
      expect(notRun.left.message).toMatch(
        /run folder .*: summary\.json cannot be read .*is this the folder of a training run/
      )
    const badSigma = await Effect.runPromise(
      Effect.either(numberList("sigma", "1,two", (x) => x >= 0, "noise levels ≥ 0"))
    )
    expect(badSigma._tag).toBe("Left")
    if (badSigma._tag === "Left")
      expect(badSigma.left.message).toBe('option --sigma: "1,two" is not a comma-separated list of noise levels ≥ 0')
    expect(Effect.runSync(numberList("sigma", "0.5, 1,2", (x) => x >= 0, "noise levels ≥ 0"))).toEqual([0.5, 1, 2])
  })
})
