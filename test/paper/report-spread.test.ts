/**
 * The report of a plan with training seeds, from fixture run folders (summaries, denoising and
 * classification tables written as the steps write them, no training): mean ± std over the seeds
 * in every table, bands in the figures, classification in three panels, runs not yet run named
 * so, and no absolute path in any caption, table or summary. Then the sittings of the paper scale.
 */
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { readArrowIpc } from "../../src/data/table.js"
import { writeTable } from "../../src/pipeline/evaluation/outputs.js"
import { meanStd } from "../../src/pipeline/paper/aggregate.js"
import { exportResults, portablePaths } from "../../src/pipeline/paper/export.js"
import { type PaperPlan, type PaperSpec, planPaper, type TrainStep, trainSteps } from "../../src/pipeline/paper/plan.js"
import { portableCommandLine } from "../../src/pipeline/paper/provenance.js"
import { writePaperReport } from "../../src/pipeline/paper/report.js"
import { PAPER_SDL_NL_EPOCHS, type ScaleSettings } from "../../src/pipeline/paper/scale.js"
import {
  planSittings,
  planUnits,
  restrictPlan,
  SITTING_FILL,
  sittingPlan,
  stepSeconds
} from "../../src/pipeline/paper/sittings.js"

const sizes: ScaleSettings = {
  mnist: { trainSize: 300, epochs: 4 },
  patches: { train: 200, val: 50, test: 50, epochs: 1 },
  denoise: { sigmas: [0.5, 1], limit: 60, examples: 3 },
  classify: { perClass: [1, 10], seeds: 2, epochs: 3, valLimit: 100, testLimit: 100, subset: "first", batchSize: 250 },
  collapse: { models: ["noreg", "vdl"], epochs: 1, trainSize: 300 },
  spread: { models: ["sdl", "vdl-nl"], seeds: 3, epochs: 2 },
  headlineSigma: 1
}

const spec = (out: string): PaperSpec => ({
  scale: "paper",
  epochs: null,
  out,
  seed: 5,
  mnist: { kind: "embedded" },
  images: null,
  backend: null,
  sizes,
  lambdas: { mnist: { vdl: [0.02], "vdl-nl": [0.01] }, patches: {} },
  defaultModels: []
})

/** What a finished run leaves: its summary, denoising at two σ and classification at two K, all from `seed`. */
const finish = (t: TrainStep, value: (what: string) => number) =>
  Effect.gen(function* () {
    const dir = t.request.out
    for (const sub of ["denoise", "classify"]) mkdirSync(join(dir, sub), { recursive: true })
    const epochs = t.request.expected.epochs
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({
        model: t.request.model,
        seed: t.seed,
        epochs,
        bestEpoch: value("improving") > 0 ? epochs : epochs - 1,
        val: { psnr: value("psnr"), zeroFraction: value("zeros"), hiddenZeroFraction: null },
        test: { psnr: value("psnr") - 0.1, zeroFraction: value("zeros") }
      })
    )
    yield* writeTable(
      join(dir, "denoise"),
      "denoise",
      [0.5, 1].flatMap((sigma) =>
        ["encoder", "fista"].map((codes) => ({
          codes,
          sigma,
          noisyPsnr: 10 - sigma,
          denoisedPsnr: value("psnr") - 2 * sigma,
          cleanPsnr: value("psnr"),
          cleanZeroFraction: value("zeros"),
          noisyZeroFraction: value("zeros"),
          images: 60
        }))
      ),
      ["codes", "sigma", "noisyPsnr", "denoisedPsnr", "cleanPsnr", "cleanZeroFraction", "noisyZeroFraction", "images"]
    )
    yield* writeTable(
      join(dir, "classify"),
      "classify",
      [1, 10].flatMap((perClass) =>
        ["encoder", "fista"].map((features) => ({
          series: `${t.request.name} ${features}`,
          features,
          perClass,
          repeats: 2,
          accuracyMean: value("accuracy") + perClass / 100,
          accuracyStd: 0.01,
          accuracyMin: 0,
          accuracyMax: 1
        }))
      ),
      ["series", "features", "perClass", "repeats", "accuracyMean", "accuracyStd", "accuracyMin", "accuracyMax"]
    )
  })

const ABSOLUTE = /(^|[\s"'`(=:])\/(tmp|home|work|root|Users|var|mnt|opt|srv|data)\//m

describe("the paper report with training seeds", () => {
  it.effect("gives mean ± std over the seeds, bands, three classification panels and no machine path", () =>
    Effect.gen(function* () {
      const root = mkdtempSync(join(tmpdir(), "paper-spread-"))
      const out = join(root, "results")
      const plan = yield* planPaper(spec(out))
      const runs = trainSteps(plan)
      const spread = runs.filter((r) => r.group === "spread")
      expect(spread.map((r) => r.request.name)).toEqual([
        "sdl-lambda0.005-seed5",
        "sdl-lambda0.005-seed6",
        "sdl-lambda0.005-seed7",
        "vdl-nl-lambda0.01-seed5",
        "vdl-nl-lambda0.01-seed6",
        "vdl-nl-lambda0.01-seed7"
      ])
      // SDL's three seeds at PSNR 16, 17, 18 (one still improving); VDL-NL's at 19, 19.5, 20 (all still improving).
      const sdlPsnr = [16, 17, 18]
      const nlPsnr = [19, 19.5, 20]
      for (const [i, t] of spread.entries()) {
        const k = i % 3
        const sdl = t.request.model === "sdl"
        yield* finish(t, (what) =>
          what === "psnr"
            ? (sdl ? sdlPsnr : nlPsnr)[k]
            : what === "zeros"
              ? (sdl ? 0.88 : 0.86) + 0.01 * k
              : what === "accuracy"
                ? (sdl ? 0.6 : 0.7) + 0.02 * k
                : sdl
                  ? Number(k === 0)
                  : 1
        )
      }
      // One main run finished, the other not yet (a later sitting's).
      const vdl = runs.find((r) => r.id === "mnist/vdl-lambda0.02") as TrainStep
      yield* finish(vdl, (what) => ({ psnr: 16.8, zeros: 0.93, accuracy: 0.65, improving: 1 })[what] as number)

      const command = portableCommandLine(
        ["paper", "--scale", "paper", "--out", out, "--mnist-dir", "/srv/datasets/mnist", `--results=${out}`],
        root
      )
      expect(command).toBe("paper --scale paper --out results --mnist-dir .../mnist --results=results")
      const prov = { command: `npx tsx experiments/paper.ts ${command}`, commit: "abc", generated: "2026-01-01" }
      yield* writePaperReport(plan, [], prov)

      const settings = readArrowIpc(new Uint8Array(readFileSync(join(out, "settings.arrow"))))
      const sdl = settings.find((r) => r.model === "sdl" && r.group === "spread")
      expect(sdl).toBeDefined()
      expect(sdl?.seeds).toBe(3)
      expect(sdl?.valPsnrMean).toBeCloseTo(17, 10)
      expect(sdl?.valPsnrStd).toBeCloseTo(1, 10)
      expect(sdl?.valZeroMean).toBeCloseTo(0.89, 10)
      expect(sdl?.stillImproving).toBe(1)
      const nl = settings.find((r) => r.model === "vdl-nl" && r.group === "spread")
      expect(nl?.valPsnrStd).toBeCloseTo(meanStd(nlPsnr).std, 10)
      expect(nl?.stillImproving).toBe(3)
      // A setting trained once: its value, a spread of 0.
      const one = settings.find((r) => r.model === "vdl")
      expect([one?.seeds, one?.valPsnrMean, one?.valPsnrStd]).toEqual([1, 16.8, 0])

      const runRows = readArrowIpc(new Uint8Array(readFileSync(join(out, "runs.arrow"))))
      expect(runRows.find((r) => r.run === "vdl-nl-lambda0.01")?.status).toBe("not run yet")
      expect(runRows.filter((r) => r.status === "finished")).toHaveLength(7)
      for (const r of runRows) expect(String(r.runDir).startsWith("/"), String(r.runDir)).toBe(false)

      const denoise = readArrowIpc(new Uint8Array(readFileSync(join(out, "denoise.arrow"))))
      const d = denoise.find((r) => r.model === "sdl" && r.codes === "encoder" && r.sigma === 1)
      expect(d?.denoisedMean).toBeCloseTo(15, 10)
      expect(d?.denoisedStd).toBeCloseTo(1, 10)

      // Classification: over training seeds where there are several, else the classifier seeds' own spread.
      const classify = readArrowIpc(new Uint8Array(readFileSync(join(out, "classify.arrow"))))
      const c = classify.find((r) => r.model === "sdl" && r.features === "encoder" && r.perClass === 10)
      expect(c?.accuracyMean).toBeCloseTo(0.72, 10)
      expect(c?.accuracyStd).toBeCloseTo(0.02, 10)
      expect(c?.spreadOver).toBe("training seeds")
      const once = classify.find((r) => r.model === "vdl" && r.features === "encoder" && r.perClass === 1)
      expect([once?.accuracyStd, once?.spreadOver]).toEqual([0.01, "classifier seeds"])

      // Panels by family: SDL in the linear one, VDL-NL in the multi-layer one, each with bands.
      const files = readdirSync(out)
      for (const f of [
        "classify-accuracy-linear.svg",
        "classify-accuracy-multilayer.svg",
        "psnr-vs-sparsity-mnist.svg",
        "denoise-sigma1-vs-sparsity-mnist.svg",
        "denoise-psnr-mnist.svg"
      ])
        expect(files, f).toContain(f)
      expect(files).not.toContain("classify-accuracy.svg")
      const linear = readFileSync(join(out, "classify-accuracy-linear.svg"), "utf8")
      expect(linear).toContain("SDL λ 0.005, 2 ep, 3 seeds")
      expect(linear).not.toContain("VDL-NL")
      expect(readFileSync(join(out, "classify-accuracy-multilayer.svg"), "utf8")).toContain(
        "VDL-NL λ 0.01, 2 ep, 3 seeds"
      )
      // A band is an area path filled at low opacity.
      expect(linear).toMatch(/fill-opacity="0\.18"/)
      expect(readFileSync(join(out, "psnr-vs-sparsity-mnist.svg"), "utf8")).toMatch(
        /fill-opacity="0\.18"|<line|M[\d.]+,[\d.]+L/
      )

      const md = readFileSync(join(out, "summary.md"), "utf8")
      expect(md).toContain("17 ± 1")
      expect(md).toContain("1 of 3")
      expect(md).toContain("the first K training images of each class (the authors' protocol), batches of 250")
      // No caption, table or summary names a folder of this machine.
      for (const f of files.filter((x) => /\.(md|svg|csv|html)$/.test(x))) {
        const text = readFileSync(join(out, f), "utf8")
        expect(text.includes(root), `${f} names ${root}`).toBe(false)
        expect(ABSOLUTE.exec(text)?.[0], `${f} holds an absolute path`).toBeUndefined()
      }
    })
  )
})

describe("a sitting's export", () => {
  it.effect(
    "copies the finished runs' tables into the results folder without checkpoints, logs or machine paths, and the report is built from it",
    () =>
      Effect.gen(function* () {
        const root = mkdtempSync(join(tmpdir(), "paper-export-"))
        const plan = yield* planPaper(spec(join(root, "runs")))
        const spread = trainSteps(plan).filter((r) => r.group === "spread" && r.request.model === "sdl")
        for (const [k, t] of spread.entries()) {
          yield* finish(t, (what) => ({ psnr: 16 + k, zeros: 0.9, accuracy: 0.6, improving: 0 })[what] as number)
          const dir = t.request.out
          // What a real run folder also holds, and a summary naming the MNIST folder and the run folder.
          writeFileSync(join(dir, "last.safetensors"), "weights")
          writeFileSync(join(dir, "checkpoint.safetensors"), "weights")
          writeFileSync(join(dir, "run.log"), `wrote ${dir}`)
          writeFileSync(join(dir, "denoise", ".paper-x.json"), "{}")
          const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"))
          writeFileSync(
            join(dir, "summary.json"),
            JSON.stringify({ ...summary, data: { mnist: { kind: "dir", dir: "/srv/data/mnist" } }, out: dir })
          )
        }
        const committed = join(root, "repo", "docs", "results", "paper")
        const exported = yield* exportResults(plan, committed, null)
        expect(exported.models).toEqual([])
        const names = exported.copied.map((f) => f.slice(committed.length + 1)).sort()
        expect(names).toContain("mnist-spread/sdl-lambda0.005-seed5/summary.json")
        expect(names).toContain("mnist-spread/sdl-lambda0.005-seed7/classify/classify.arrow")
        expect(names.filter((n) => /safetensors|\.log$|\.paper-/.test(n))).toEqual([])
        for (const f of exported.copied) {
          const text = readFileSync(f, "utf8")
          expect(text.includes(root), f).toBe(false)
          expect(ABSOLUTE.exec(text)?.[0], f).toBeUndefined()
        }
        const summary = JSON.parse(
          readFileSync(join(committed, "mnist-spread", "sdl-lambda0.005-seed5", "summary.json"), "utf8")
        )
        expect([summary.data.mnist.dir, summary.out]).toEqual([".../mnist", "mnist-spread/sdl-lambda0.005-seed5"])
        expect(portablePaths('xmlns="http://www.w3.org/2000/svg" at /a/b/c.png', "/a/b")).toBe(
          'xmlns="http://www.w3.org/2000/svg" at c.png'
        )
        // A later sitting, on another machine: the report from the committed folder alone.
        const later = yield* planPaper(spec(committed))
        yield* writePaperReport(later, [], { command: "paper report", commit: "abc", generated: "2026-01-01" })
        const settings = readArrowIpc(new Uint8Array(readFileSync(join(committed, "settings.arrow"))))
        expect(settings.map((r) => [r.model, r.seeds, r.valPsnrMean])).toEqual([["sdl", 3, 17]])
        const runRows = readArrowIpc(new Uint8Array(readFileSync(join(committed, "runs.arrow"))))
        expect(
          runRows
            .filter((r) => r.status === "not run yet")
            .map((r) => r.run)
            .sort()
        ).toEqual([
          "vdl-lambda0.02",
          "vdl-nl-lambda0.01",
          "vdl-nl-lambda0.01-seed5",
          "vdl-nl-lambda0.01-seed6",
          "vdl-nl-lambda0.01-seed7"
        ])
      })
  )
})

describe("the paper scale in sittings", () => {
  it.effect("puts every run with its evaluations into exactly one sitting that fits three hours", () =>
    Effect.gen(function* () {
      const plan: PaperPlan = yield* planPaper({
        scale: "paper",
        epochs: null,
        out: "/tmp/paper-sittings",
        seed: 31,
        mnist: { kind: "dir", dir: "/data/mnist" },
        images: "/data/photos",
        backend: null
      })
      const sittings = planSittings(plan)
      const units = planUnits(plan)
      const placed = sittings.flatMap((s) => s.units.map((u) => u.id))
      expect([...placed].sort()).toEqual(units.map((u) => u.id).sort())
      for (const s of sittings) {
        expect(s.overlong, `sitting ${s.index}`).toBe(false)
        expect(s.seconds).toBeLessThanOrEqual(3 * 3600 * SITTING_FILL)
      }
      // Every step of the plan but the patch build belongs to one unit; the build comes with each sitting that needs it.
      const inUnits = units.flatMap((u) => u.steps)
      expect(new Set(inUnits).size).toBe(inUnits.length)
      expect([...inUnits, "patch-build"].sort()).toEqual(plan.steps.map((s) => s.id).sort())
      for (let k = 1; k <= sittings.length; k++) {
        const part = sittingPlan(plan, k)
        expect(part).not.toBeNull()
        const ids = new Set(part?.plan.steps.map((s) => s.id))
        for (const step of part?.plan.steps ?? [])
          for (const d of step.deps) expect(ids.has(d), `${step.id} needs ${d}`).toBe(true)
        const patches = part?.sitting.units.some((u) => u.patches)
        expect(ids.has("patch-build")).toBe(patches)
      }
      expect(sittingPlan(plan, sittings.length + 1)).toBeNull()
      // SDL-NL at the authors' 200 epochs fits one sitting at the measured cost.
      const sdlNl = plan.steps.find((s) => s.id === "mnist/sdl-nl-lambda0.01") as TrainStep
      expect(PAPER_SDL_NL_EPOCHS).toBe(200)
      expect(stepSeconds(plan, sdlNl)).toBeLessThan(3 * 3600 * SITTING_FILL)
      // --only: a run brings its evaluations and what they need; an unknown name is returned.
      const only = restrictPlan(plan, ["patches/vdl-lambda0.01", "nothing"])
      expect(only.unknown).toEqual(["nothing"])
      expect(only.plan.steps.map((s) => s.id)).toEqual([
        "patch-build",
        "patches/vdl-lambda0.01",
        "patches/vdl-lambda0.01/denoise"
      ])
    })
  )
})
