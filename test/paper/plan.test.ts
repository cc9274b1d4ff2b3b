/**
 * The paper's plan without running it: the grid of runs at each scale, the λ tables, the steps
 * each step waits for, and what counts as done in a folder that holds finished runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  type PaperSpec,
  photoFolders,
  planPaper,
  type ProcessStep,
  processSteps,
  type TrainStep,
  trainSteps
} from "../../src/pipeline/paper/plan.js"
import {
  mnistLambdas,
  mnistSweepModels,
  PAPER_SDL_NL_EPOCHS,
  PAPER_VDL_NL_INFERENCE,
  patchLambdas,
  patchModels,
  scales
} from "../../src/pipeline/paper/scale.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import { processStepState, stampFile, trainStepState } from "../../src/pipeline/paper/steps.js"
import { continuation } from "../../src/pipeline/jobs/process.js"
import { svgWithFooter } from "../../src/pipeline/paper/provenance.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { cliData, env } from "../helpers/mnist-runs.js"
import { tinySpec } from "./tiny-plan.js"

const spec = (out: string, over: Partial<PaperSpec> = {}): PaperSpec => ({
  scale: "quick",
  epochs: null,
  out,
  seed: 31,
  mnist: { kind: "dir", dir: "/data/mnist" },
  images: "/data/photos",
  backend: null,
  ...over
})

/** A summary.json as a finished run of `step` writes it (the fields the check reads). */
const finish = (step: TrainStep) => {
  mkdirSync(step.request.out, { recursive: true })
  const e = step.request.expected
  writeFileSync(
    join(step.request.out, "summary.json"),
    JSON.stringify({
      model: e.model,
      seed: e.seed,
      epochs: e.epochs,
      settings: e.settings,
      data: e.data._tag === "mnist" ? { mnist: e.data.mnist, trainSize: e.data.trainSize } : { patchFile: e.data.path },
      backend: "wasm",
      val: { psnr: 20, zeroFraction: 0.9 }
    })
  )
}

describe("the paper's plan", () => {
  it.effect(
    "holds every variant at three or more λ on MNIST, the baselines at their preset λ, and the patch variants at two or more",
    () =>
      Effect.gen(function* () {
        // The paper scale trains one λ per model (its own test below); the others hold the grid.
        for (const scale of scales.filter((x) => x !== "paper")) {
          const plan = yield* planPaper(spec("/tmp/paper", { scale }))
          const runs = trainSteps(plan)
          const mnist = runs.filter((r) => r.dataset === "mnist")
          for (const model of mnistSweepModels) {
            const mine = mnist.filter((r) => r.request.model === model)
            expect(mine.length, `${scale} ${model}`).toBeGreaterThanOrEqual(3)
            expect(mine.map((r) => r.request.lambda)).toEqual([...mnistLambdas[scale][model]])
          }
          // WDL, WDL-NL and the ablation once each, at their presets.
          expect(mnist.filter((r) => r.role === "default").map((r) => r.request.name)).toEqual([
            "wdl-lambda0.005",
            "wdl-nl-lambda0.01",
            "noreg-lambda0.02"
          ])
          const patches = runs.filter((r) => r.dataset === "patches")
          for (const model of patchModels)
            expect(patches.filter((r) => r.request.model === model).map((r) => r.request.lambda)).toEqual([
              ...patchLambdas[scale][model]
            ])
          expect(
            patches.every(
              (r) =>
                r.deps.includes("patch-build") &&
                r.request.command === "patches-train" &&
                r.request.args.includes(plan.patchFile as string)
            )
          ).toBe(true)
          expect(runs.filter((r) => r.dataset === "mnist").every((r) => r.request.command === "train")).toBe(true)
          // Epochs: the paper's at full scale, 20 at medium (5 for the slow SDL-NL and WDL-NL), a few at quick; --epochs replaces them all.
          expect(plan.epochs.mnist).toBe({ full: 200, medium: 20, quick: 2 }[scale])
          expect(plan.epochs.patches).toBe({ full: 100, medium: 5, quick: 2 }[scale])
          for (const r of mnist) {
            const epochs = scale === "medium" && ["sdl-nl", "wdl-nl"].includes(r.request.model) ? 5 : plan.epochs.mnist
            expect(r.request.expected.epochs).toBe(epochs)
            expect(r.request.expected.settings.lambda).toBe(r.request.lambda)
            expect(r.request.args).toEqual(
              expect.arrayContaining(["--mnist-dir", "/data/mnist", "--epochs", String(epochs)])
            )
          }
          // Every run is denoised, every MNIST run classified, each after its run; one baseline step.
          const steps = processSteps(plan)
          for (const r of runs) expect(steps.find((s) => s.id === `${r.id}/denoise`)?.deps).toEqual([r.id])
          for (const r of mnist) expect(steps.find((s) => s.id === `${r.id}/classify`)?.deps).toEqual([r.id])
          expect(steps.filter((s) => s.kind === "classify")).toHaveLength(mnist.length + 1)
          expect(steps.filter((s) => s.kind === "collapse")).toHaveLength(1)
          expect(steps.filter((s) => s.kind === "patch-build")).toHaveLength(1)
          const denoise = steps.find((s) => s.kind === "denoise") as ProcessStep
          expect(denoise.args.join(" ")).toContain("--sigma 0.5,1,1.5,2")
          const classify = steps.find((s) => s.kind === "classify") as ProcessStep
          expect(classify.args.join(" ")).toContain(
            scale === "quick" ? "--per-class 1,10,100 --seeds 2" : "--per-class 1,2,5,10,20,50,100 --seeds 5"
          )
        }
        const fewer = yield* planPaper(spec("/tmp/paper", { epochs: 7, images: null }))
        expect(fewer.epochs).toEqual({ mnist: 7, patches: 7, collapse: 4 })
        expect(trainSteps(fewer).some((r) => r.dataset === "patches")).toBe(false)
        expect(processSteps(fewer).some((s) => s.kind === "patch-build")).toBe(false)
        const medium = yield* planPaper(spec("/tmp/paper", { scale: "medium", epochs: 7 }))
        expect(new Set(trainSteps(medium).map((r) => r.request.expected.epochs))).toEqual(new Set([7]))
      })
  )

  it.effect(
    "at the paper scale: the presets at the authors' lengths, three training seeds of each MNIST preset at 20 epochs, the collapse at 200, the authors' classifier",
    () =>
      Effect.gen(function* () {
        const plan = yield* planPaper(spec("/tmp/paper", { scale: "paper" }))
        const runs = trainSteps(plan)
        const main = runs.filter((r) => r.group === "main")
        expect(main.map((r) => [r.dataset, r.request.model, r.request.lambda, r.request.expected.epochs])).toEqual([
          ["mnist", "sdl", 0.005, 200],
          ["mnist", "sdl-nl", 0.01, PAPER_SDL_NL_EPOCHS],
          ["mnist", "vdl", 0.02, 200],
          ["mnist", "vdl-nl", 0.01, 200],
          ["patches", "sdl", 0.005, 20],
          ["patches", "vdl", 0.01, 20],
          ["patches", "vdl-nl", 0.01, 20]
        ])
        expect(PAPER_SDL_NL_EPOCHS).toBeGreaterThanOrEqual(50)
        // VDL-NL's 200-epoch run infers with the adaptive step, which the run records; its spread keeps the preset's FISTA.
        const vdlNl = main.find((r) => r.id === "mnist/vdl-nl-lambda0.01") as TrainStep
        expect(vdlNl.request.args.join(" ")).toContain(`--inference ${PAPER_VDL_NL_INFERENCE}`)
        expect(vdlNl.request.expected.settings.inference).toBe(PAPER_VDL_NL_INFERENCE)
        for (const r of runs.filter((r) => r.id !== vdlNl.id)) {
          const preset = yield* resolveSettings(r.request.model, r.dataset, {})
          expect(r.request.args, r.id).not.toContain("--inference")
          expect(r.request.expected.settings.inference, r.id).toBe(preset.inference)
        }
        // Each preset λ is the variant's own (src/models/variants.ts), not a copy that could drift.
        for (const r of main) {
          const preset = yield* resolveSettings(r.request.model, r.dataset, {})
          expect(r.request.lambda, r.id).toBe(preset.lambda)
        }
        const build = processSteps(plan).find((s) => s.kind === "patch-build") as ProcessStep
        expect(build.args.join(" ")).toContain("--train 200000")
        // The spread: SDL, SDL-NL, VDL, VDL-NL and noreg at their presets, seeds 31, 32, 33, 20 epochs each.
        const spread = runs.filter((r) => r.group === "spread")
        expect(spread).toHaveLength(15)
        for (const model of ["sdl", "sdl-nl", "vdl", "vdl-nl", "noreg"]) {
          const mine = spread.filter((r) => r.request.model === model)
          expect(mine.map((r) => r.seed)).toEqual([31, 32, 33])
          expect(mine.map((r) => r.request.expected.seed)).toEqual([31, 32, 33])
          expect(new Set(mine.map((r) => r.request.expected.epochs))).toEqual(new Set([20]))
          expect(new Set(mine.map((r) => r.request.lambda)).size).toBe(1)
          for (const r of mine) {
            expect(r.request.args.join(" ")).toContain(`--seed ${r.seed}`)
            expect(r.request.out).toBe(join("/tmp/paper", "mnist-spread", `${r.request.name}`))
          }
        }
        expect(new Set(runs.map((r) => r.request.out)).size).toBe(runs.length)
        const collapse = processSteps(plan).find((s) => s.kind === "collapse") as ProcessStep
        expect(collapse.args.join(" ")).toContain("--model noreg,vdl --epochs 200")
        // The authors' classifier: the first K of each class, batches of 250; the baselines borrow a short run's data.
        const classify = processSteps(plan).filter((s) => s.kind === "classify")
        expect(classify).toHaveLength(runs.filter((r) => r.dataset === "mnist").length + 1)
        for (const c of classify) expect(c.args.join(" ")).toContain("--subset first --batch-size 250")
        const baselines = classify.find((c) => c.id === "classify-baselines") as ProcessStep
        expect(baselines.deps[0]).toMatch(/^mnist-spread\//)
        // Other scales keep the classify command's defaults, so their finished steps stay finished.
        const medium = yield* planPaper(spec("/tmp/paper", { scale: "medium" }))
        for (const c of processSteps(medium).filter((s) => s.kind === "classify"))
          expect(c.args).not.toContain("--subset")
        expect(trainSteps(medium).some((r) => r.group === "spread")).toBe(false)
      })
  )

  it.effect("refuses a bad number of epochs or a λ listed twice", () =>
    Effect.gen(function* () {
      const zero = yield* Effect.flip(planPaper(spec("/tmp/paper", { epochs: 0 })))
      expect(zero.message).toContain("--epochs")
      const twice = yield* Effect.flip(
        planPaper(spec("/tmp/paper", { lambdas: { mnist: { sdl: [0.01, 0.01] }, patches: {} } }))
      )
      expect(twice.message).toContain("listed twice")
    })
  )

  it("reads BSDS500's layout from the data set's folder or the folder above it", () => {
    const root = mkdtempSync(join(tmpdir(), "photos-"))
    for (const d of ["bsds500/train", "bsds500/val", "bsds500/test"]) mkdirSync(join(root, d), { recursive: true })
    const expected = {
      trainVal: [join(root, "bsds500/train"), join(root, "bsds500/val")],
      test: [join(root, "bsds500/test")]
    }
    expect(photoFolders(join(root, "bsds500"))).toEqual(expected)
    expect(photoFolders(root)).toEqual(expected)
    expect(photoFolders(join(root, "bsds500/train"))).toEqual({ trainVal: [join(root, "bsds500/train")], test: [] })
  })

  it.effect(
    "counts as done the runs whose summary.json matches and the steps whose stamp does, redoes what is older than its input, and replaces another run only when asked",
    () =>
      Effect.gen(function* () {
        const out = mkdtempSync(join(tmpdir(), "paper-plan-"))
        const plan = yield* planPaper(spec(out))
        const [first, second] = trainSteps(plan)
        finish(first)
        expect((yield* trainStepState(first)).done).toBe(true)
        expect((yield* trainStepState(second)).done).toBe(false)
        // A summary of another run in the folder does not count.
        mkdirSync(second.request.out, { recursive: true })
        writeFileSync(join(second.request.out, "summary.json"), JSON.stringify({ model: "sdl", seed: 1 }))
        expect((yield* trainStepState(second)).reason).toMatch(/another run/)

        // An evaluation is done when its stamp names the same arguments and its outputs exist.
        const denoise = processSteps(plan).find((s) => s.id === `${first.id}/denoise`) as ProcessStep
        expect(processStepState(denoise)).toEqual({ done: false, reason: "it has not run yet" })
        mkdirSync(denoise.out, { recursive: true })
        for (const f of denoise.outputs) writeFileSync(join(denoise.out, f), "x")
        writeFileSync(stampFile(denoise), JSON.stringify({ args: denoise.args }))
        expect(processStepState(denoise).done).toBe(true)
        writeFileSync(stampFile(denoise), JSON.stringify({ args: [...denoise.args.slice(0, -1), "elsewhere"] }))
        expect(processStepState(denoise).reason).toMatch(/other arguments/)
        writeFileSync(stampFile(denoise), JSON.stringify({ args: denoise.args }))
        // The run trained again after its evaluation: the evaluation is redone.
        const later = Date.now() / 1000 + 60
        utimesSync(join(first.request.out, "summary.json"), later, later)
        expect(processStepState(denoise).reason).toMatch(/summary\.json changed/)

        // A patch run older than its patch file is trained again.
        const patch = trainSteps(plan).find((r) => r.dataset === "patches") as TrainStep
        finish(patch)
        expect((yield* trainStepState(patch)).done).toBe(true)
        mkdirSync(join(out, "data"), { recursive: true })
        writeFileSync(plan.patchFile as string, "new")
        utimesSync(plan.patchFile as string, later, later)
        expect((yield* trainStepState(patch)).reason).toMatch(/rebuilt/)

        // A folder holding another run's summary is that run's: refused, unless the plan asks to replace it.
        const refused = yield* Effect.flip(continuation(second.request))
        expect(refused._tag).toBe("RunFolderTakenError")
        expect(refused.message).toContain(second.request.out)
        const replacing = { ...second.request, args: [...second.request.args, "--overwrite"] }
        expect((yield* continuation(replacing)).from).toBeNull()
      })
  )

  it("puts the command line and commit in a footer inside each SVG", () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100"><rect width="200" height="100"/></svg>`
    const out = svgWithFooter(svg, ["command: npx tsx experiments/paper.ts --scale quick", "commit: abc & <def>"])
    expect(out).toContain('height="138"')
    expect(out).toContain('viewBox="0 0 200 138"')
    expect(out).toContain("commit: abc &amp; &lt;def&gt;</text>")
    expect(out.endsWith("</g></svg>")).toBe(true)
  })
})

describe("an interrupted run of the plan", () => {
  it.effect(
    "resumes from its last.safetensors when it is the planned run; another run in its folder is refused unless replacing it is asked for",
    () =>
      Effect.gen(function* () {
        const out = mkdtempSync(join(tmpdir(), "paper-resume-"))
        const plan = yield* planPaper(tinySpec(out, null))
        const [step, other] = trainSteps(plan)
        const e = step.request.expected
        const data = yield* cliData(300, e.seed)
        yield* trainRun(
          {
            model: e.model,
            settings: e.settings,
            epochs: e.epochs,
            seed: e.seed,
            out: step.request.out,
            describe: { source: "embedded", mnist: { kind: "embedded" }, trainSize: 300 }
          },
          data
        )
        // What an interruption after the last epoch leaves: the saved state, no summary.
        rmSync(join(step.request.out, "summary.json"))
        expect((yield* trainStepState(step)).done).toBe(false)
        expect((yield* continuation(step.request)).run.args).toEqual([
          ...step.request.args,
          "--resume",
          step.request.out
        ])
        // The same folder planned for another λ is not continued: it is refused, or replaced when asked.
        const elsewhere = { ...other.request, out: step.request.out }
        expect((yield* Effect.flip(continuation(elsewhere)))._tag).toBe("RunFolderTakenError")
        const replacing = { ...elsewhere, args: [...elsewhere.args, "--overwrite"] }
        const replaced = yield* continuation(replacing)
        expect(replaced.from).toBeNull()
        expect(replaced.run.args).toEqual(replacing.args)
      }).pipe(Effect.provide(env())),
    120_000
  )
})
