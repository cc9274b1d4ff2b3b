/**
 * A tiny paper plan end to end: every step as the real program in its own process (patch file,
 * collapse, training runs, denoising, classification and baselines), then the tables, figures,
 * summary.md and report.html; the report rendered in headless Chromium, which must show the
 * figures, tables and pictures; and a second start that finds everything done. Under CI
 * (CI=true) a missing Chromium fails the test; elsewhere the rendering is skipped, saying why.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PNG } from "pngjs"
import { describe, expect, it } from "vitest"
import { paperPrograms } from "../../src/cli/commands/paper.js"
import { readArrowIpc } from "../../src/data/table.js"
import { BackendLive } from "../../src/pipeline/backend/backend.js"
import { executePlan, type StepOutcome } from "../../src/pipeline/paper/execute.js"
import { exportResults } from "../../src/pipeline/paper/export.js"
import { planPaper } from "../../src/pipeline/paper/plan.js"
import { writePaperReport } from "../../src/pipeline/paper/report.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { repoRoot, runToEnd } from "../helpers/commands.js"
import { quiet } from "../helpers/mnist-runs.js"
import { tinySpec, writeTinyPhotos } from "./tiny-plan.js"

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const hasChromium = existsSync(CHROMIUM)
const required = process.env.CI === "true"
if (!hasChromium && !required)
  console.warn(
    `skipping the rendering of the paper report: no Chromium at ${CHROMIUM}; install it with apt-get install -y chromium (or set CHROMIUM_PATH)`
  )

const chromium = (...args: string[]) => {
  if (!hasChromium)
    throw new Error(
      `headless Chromium is needed at ${CHROMIUM} to render the report; install it with apt-get install -y chromium (.ci/run does this in CI), or set CHROMIUM_PATH`
    )
  return runToEnd(
    CHROMIUM,
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
}

const provenance = {
  command: "npx tsx experiments/paper.ts --scale tiny",
  commit: "0123456789abcdef0123456789abcdef01234567",
  generated: "2026-01-01T00:00:00Z"
}

const runPlan = (out: string, photos: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const plan = yield* planPaper(tinySpec(out, photos))
      const outcomes = yield* executePlan(plan, { parallel: 2, programs: paperPrograms(repoRoot) })
      yield* writePaperReport(plan, outcomes, provenance)
      return outcomes
    }).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)))
  )

const statuses = (outcomes: ReadonlyArray<StepOutcome>) =>
  Object.fromEntries(outcomes.map((o) => [o.step.id, o.problem === undefined ? o.status : `${o.status}: ${o.problem}`]))

const root = mkdtempSync(join(tmpdir(), "paper-e2e-"))
const out = join(root, "paper")

describe("the paper's plan, tiny, end to end", () => {
  it("runs every step, writes the tables, figures and report, renders in Chromium, and skips everything when started again", async () => {
    const photos = await writeTinyPhotos(join(root, "photos"))
    const first = await runPlan(out, photos)
    const steps = statuses(first)
    expect(
      Object.values(steps).every((s) => s === "ran"),
      JSON.stringify(steps, null, 2)
    ).toBe(true)
    // 4 runs (3 MNIST, 1 patches), 4 denoisings, 3 classifications + baselines, the collapse, the patch file.
    expect(first).toHaveLength(14)

    for (const f of [
      "runs.csv",
      "runs.arrow",
      "denoise.csv",
      "classify.csv",
      "summary.md",
      "report.html",
      "psnr-vs-sparsity-mnist.svg",
      "psnr-vs-sparsity-patches.svg",
      "denoise-psnr-mnist.svg",
      "denoise-sigma1-vs-sparsity-mnist.svg",
      "settings.csv",
      "classify-runs.csv",
      "classify-accuracy-linear.svg",
      "classify-accuracy-baselines.svg",
      "collapse-code-l1.svg",
      "collapse-atom-norm.svg",
      "data/patches.arrow"
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true)
    }
    const runs = readArrowIpc(new Uint8Array(readFileSync(join(out, "runs.arrow"))))
    expect(runs.map((r) => `${r.dataset} ${r.run} ${r.status}`)).toEqual([
      "mnist sdl-lambda0.005 finished",
      "mnist sdl-lambda0.01 finished",
      "mnist vdl-lambda0.02 finished",
      "patches vdl-lambda0.01 finished"
    ])
    for (const r of runs) expect(Number(r.valZeroFraction)).toBeGreaterThanOrEqual(0)
    const classify = readArrowIpc(new Uint8Array(readFileSync(join(out, "classify-runs.arrow"))))
    expect(new Set(classify.map((r) => r.series))).toEqual(
      new Set([
        "sdl-lambda0.005 encoder",
        "sdl-lambda0.005 FISTA",
        "sdl-lambda0.01 encoder",
        "sdl-lambda0.01 FISTA",
        "vdl-lambda0.02 encoder",
        "vdl-lambda0.02 FISTA",
        "pixels",
        "LISTA end to end"
      ])
    )
    for (const r of classify) expect(r.repeats).toBe(2)
    const denoise = readArrowIpc(new Uint8Array(readFileSync(join(out, "denoise-runs.arrow"))))
    expect(denoise).toHaveLength(4 * 2 * 2)
    // One training seed per setting: the per-setting tables hold each run's values, with a spread of 0.
    const settings = readArrowIpc(new Uint8Array(readFileSync(join(out, "settings.arrow"))))
    expect(settings).toHaveLength(4)
    for (const r of settings) expect([r.seeds, r.valPsnrStd]).toEqual([1, 0])
    const perSetting = readArrowIpc(new Uint8Array(readFileSync(join(out, "classify.arrow"))))
    expect(new Set(perSetting.map((r) => r.spreadOver))).toEqual(new Set(["classifier seeds"]))
    // Every figure carries the command line and the commit, in the file and on the page.
    for (const f of ["psnr-vs-sparsity-mnist.svg", "collapse-code-l1.svg"]) {
      const svg = readFileSync(join(out, f), "utf8")
      expect(svg).toContain(`command: ${provenance.command}`)
      expect(svg).toContain(`commit: ${provenance.commit}`)
    }
    const md = readFileSync(join(out, "summary.md"), "utf8")
    for (const text of [
      "## PSNR against sparsity",
      "## Denoising",
      "## Low-data classification",
      "± ",
      provenance.commit
    ])
      expect(md).toContain(text)

    const html = readFileSync(join(out, "report.html"), "utf8")
    expect(html).not.toMatch(/<(img|script|link)[^>]+(src|href)="(?!data:|#)/)
    if (hasChromium || required) {
      const page = `file://${join(out, "report.html")}`
      const dom = await chromium("--virtual-time-budget=5000", "--dump-dom", page)
      expect(dom.status, dom.stderr).toBe(0)
      // Figures: 2 PSNR-against-sparsity, 4 denoising, 2 classification panels, 2 collapse; pictures: each run's decoder columns.
      expect((dom.stdout.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(10)
      expect((dom.stdout.match(/<img/g) ?? []).length).toBeGreaterThanOrEqual(4)
      expect((dom.stdout.match(/<table/g) ?? []).length).toBeGreaterThanOrEqual(4)
      expect((dom.stdout.match(/<figcaption/g) ?? []).length).toBeGreaterThanOrEqual(11)
      for (const text of [
        "PSNR against sparsity",
        "Denoising",
        "Low-data classification",
        "The collapse",
        "Atoms",
        "LISTA end to end",
        provenance.commit
      ])
        expect(dom.stdout).toContain(text)
      const shot = join(root, "shot.png")
      const s = await chromium("--hide-scrollbars", "--window-size=1200,3000", `--screenshot=${shot}`, page)
      expect(s.status, s.stderr).toBe(0)
      const png = PNG.sync.read(readFileSync(shot))
      expect([png.width, png.height]).toEqual([1200, 3000])
      let sum = 0
      let sumSq = 0
      const n = png.width * png.height
      for (let p = 0; p < png.data.length; p += 4) {
        const grey = (png.data[p] + png.data[p + 1] + png.data[p + 2]) / 3
        sum += grey
        sumSq += grey * grey
      }
      const variance = sumSq / n - (sum / n) ** 2
      expect(variance, "the screenshot is blank").toBeGreaterThan(100)
    }

    // The sitting's export: real run folders into a results folder and weights-only models, with
    // no machine path in any copied file; the report built from the results folder alone; a model loads.
    const committed = join(root, "repo", "docs", "results", "paper")
    const models = join(root, "repo", "models")
    const exported = await Effect.runPromise(
      Effect.gen(function* () {
        const plan = yield* planPaper(tinySpec(out, photos))
        const done = yield* exportResults(plan, committed, models)
        const later = yield* planPaper(tinySpec(committed, photos))
        yield* writePaperReport(later, [], provenance)
        const codes = yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel(join(models, "mnist-vdl-lambda0.02.safetensors"))
            return yield* model.encode(new Float32Array(2 * 784).fill(0.5))
          })
        )
        return { ...done, codes }
      }).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet, BackendLive("wasm"))))
    )
    expect(exported.models.map((f) => f.slice(models.length + 1)).sort()).toEqual([
      "mnist-sdl-lambda0.005.safetensors",
      "mnist-sdl-lambda0.01.safetensors",
      "mnist-vdl-lambda0.02.safetensors",
      "patches-vdl-lambda0.01.safetensors"
    ])
    expect(exported.codes).toHaveLength(2 * 16)
    expect(exported.copied.some((f) => f.endsWith(join("mnist", "vdl-lambda0.02", "classify", "classify.arrow")))).toBe(
      true
    )
    for (const f of exported.copied) {
      const text = readFileSync(f, "latin1")
      expect(text.includes(root), `${f} names ${root}`).toBe(false)
      expect(text.includes(repoRoot), `${f} names ${repoRoot}`).toBe(false)
    }
    const fromCommitted = readArrowIpc(new Uint8Array(readFileSync(join(committed, "runs.arrow"))))
    expect(fromCommitted.map((r) => r.status)).toEqual(["finished", "finished", "finished", "finished"])

    const second = await runPlan(out, photos)
    expect(
      Object.values(statuses(second)).every((s) => s === "skipped"),
      JSON.stringify(statuses(second), null, 2)
    ).toBe(true)
  }, 900_000)
})
