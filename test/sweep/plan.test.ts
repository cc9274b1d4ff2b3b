import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { readArrowIpc } from "../../src/data/table.js"
import { makeDecoder } from "../../src/models/decoders/decoder.js"
import { linear } from "../../src/models/decoders/linear.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { codeAtomNorms, codeL1Sum, componentUse, usageWeightedMean } from "../../src/models/norms.js"
import { variants } from "../../src/models/variants.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import type { RunOutcome } from "../../src/pipeline/jobs/local.js"
import { firstDifference } from "../../src/data/first-difference.js"
import {
  passthroughArgs,
  planSweep,
  type RunRequest,
  runName,
  runState,
  type SweepSpec
} from "../../src/pipeline/jobs/plan.js"
import { jobId } from "../../src/pipeline/jobs/queue.js"
import { summaryRows, tradeoffSeries, writeSweepReport } from "../../src/pipeline/jobs/report.js"

const spec = (over: Partial<SweepSpec> = {}): SweepSpec => ({
  models: ["sdl", "vdl"],
  lambdas: [0.005, 0.01, 0.02],
  epochs: 1,
  out: "sweep-out",
  seed: 31,
  source: { kind: "embedded" },
  trainSize: 500,
  backend: null,
  overrides: { codeDim: 16 },
  passthrough: ["--train-size", "500", "--code-dim", "16"],
  ...over
})

/** What a run's summary.json says, for a request, with given figures. */
const summaryFor = (run: RunRequest, psnr: number, zeros: number) => ({
  model: run.model,
  backend: "wasm",
  epochs: run.expected.epochs,
  secondsPerEpoch: 1.5,
  bestEpoch: 1,
  val: { energy: 1, psnr, zeroFraction: zeros, hiddenZeroFraction: null, meanFistaSteps: 0 },
  test: { energy: 1.1, psnr: psnr - 0.1, zeroFraction: zeros, hiddenZeroFraction: null, meanFistaSteps: 0 },
  meanFistaSteps: 20,
  seed: run.expected.seed,
  settings: run.expected.settings,
  data: { train: 500, val: 714, test: 1429, source: "embedded", ...mnistData(run) }
})

const mnistData = (run: RunRequest) => {
  const data = run.expected.data
  if (data._tag !== "mnist") throw new Error(`${run.name} is not an MNIST run`)
  return { mnist: data.mnist, trainSize: data.trainSize }
}

describe("variants added for the baselines and the ablation", () => {
  it.effect("WDL and WDL-NL swap unit norm for decoder weight decay; noreg is VDL without any regulariser", () =>
    Effect.gen(function* () {
      for (const name of ["wdl", "wdl-nl", "noreg"] as const) {
        for (const dataset of ["mnist", "patches"] as const)
          expect(yield* resolveSettings(name, dataset, {})).toEqual(variants[name].settings[dataset])
      }
      const wdl = variants.wdl.settings.mnist
      expect(wdl).toMatchObject({ hidden: [], unitNormAtoms: false, beta: 0 })
      expect(wdl.decoderWeightDecay).toBeGreaterThan(0)
      expect({ ...wdl, unitNormAtoms: true, decoderWeightDecay: 0 }).toEqual(variants.sdl.settings.mnist)
      const wdlNl = variants["wdl-nl"].settings.mnist
      expect(wdlNl).toMatchObject({ hidden: [1024], unitNormAtoms: false, hiddenBiasDecay: 1e-3 })
      expect(wdlNl.decoderWeightDecay).toBeGreaterThan(0)
      const noreg = variants.noreg.settings.mnist
      expect(noreg).toMatchObject({
        hidden: [],
        unitNormAtoms: false,
        decoderWeightDecay: 0,
        hiddenBiasDecay: 0,
        beta: 0
      })
      expect({ ...noreg, beta: 10 }).toEqual(variants.vdl.settings.mnist)
    })
  )
})

describe("collapse measures", () => {
  it("code ℓ1 sums, atom norms and the use-weighted mean", () => {
    tf.setBackend("cpu")
    const z = tf.tensor2d([
      [0, 2, 1],
      [3, 0, 0]
    ])
    expect(codeL1Sum(z)).toBe(6)
    expect(Array.from(componentUse(z, tfjsLinalg))).toEqual([1, 1, 1])
    expect(usageWeightedMean([1, 2, 6], [3, 1, 0])).toBeCloseTo(1.25)
    expect(usageWeightedMean([1, 2], [0, 0])).toBeNaN()
    const d = makeDecoder(
      linear,
      { codeDim: 3, hidden: [], activation: "relu", unitNormAtoms: false },
      { codeDim: 3, outputDim: 4, height: 2, width: 2 },
      { next: () => 0.75 },
      tfjsLinalg
    )
    // Every weight is the same, so each atom (row of W) has norm √4 · w.
    const w = d.params.W1.dataSync()[0]
    for (const n of codeAtomNorms(d)) expect(n).toBeCloseTo(2 * Math.abs(w), 5)
    z.dispose()
    d.dispose()
  })
})

describe("sweep plan", () => {
  it.effect("every model × λ, named, with absolute run folders and the shared arguments", () =>
    Effect.gen(function* () {
      const runs = yield* planSweep(spec())
      expect(runs.map((r) => r.name)).toEqual([
        "sdl-lambda0.005",
        "sdl-lambda0.01",
        "sdl-lambda0.02",
        "vdl-lambda0.005",
        "vdl-lambda0.01",
        "vdl-lambda0.02"
      ])
      const vdl = runs[4]
      expect(vdl.out).toBe(join(resolve("sweep-out"), "vdl-lambda0.01"))
      expect(vdl.args).toEqual([
        "--model",
        "vdl",
        "--lambda",
        "0.01",
        "--epochs",
        "1",
        "--out",
        vdl.out,
        "--train-size",
        "500",
        "--code-dim",
        "16"
      ])
      expect(vdl.expected.settings).toMatchObject({ codeDim: 16, epochs: 1, lambda: 0.01, beta: 10 })
      const preset = yield* planSweep(spec({ epochs: "preset", models: ["sdl"], lambdas: [0.01] }))
      expect(preset[0].expected.epochs).toBe(200)
    })
  )

  it.effect.each([
    [{ models: ["sdl", "nope"] }, "model"],
    [{ models: [] }, "--model"],
    [{ models: ["sdl", "sdl"] }, "--model"],
    [{ lambdas: [0.01, 0.01] }, "--lambda"],
    [{ lambdas: [] }, "--lambda"],
    [{ epochs: 0 }, "--epochs"]
  ] as const)("refuses %j naming %s", ([over, option]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(planSweep(spec(over as Partial<SweepSpec>)))
      // An unknown model is the settings' own refusal, naming the setting; the rest are the plan's.
      expect(error._tag).toBe(option === "model" ? "SettingsError" : "ConfigError")
      expect(error.message).toContain(option)
    })
  )

  it("hands on every option but its own, with path options made absolute", () => {
    const own = ["--model", "--lambda", "--out"]
    expect(
      passthroughArgs(
        [
          "--model",
          "sdl,vdl",
          "--train-size",
          "500",
          "--lambda=0.1",
          "--download",
          "--out",
          "x",
          "--mnist-dir",
          "data/m",
          "--seed=3"
        ],
        own,
        ["--mnist-dir"]
      )
    ).toEqual(["--train-size", "500", "--download", "--mnist-dir", resolve("data/m"), "--seed=3"])
    expect(passthroughArgs(["--mnist-dir=rel"], own, ["--mnist-dir"])).toEqual(["--mnist-dir", resolve("rel")])
  })

  it("names the first difference between what was asked and what a run recorded", () => {
    expect(firstDifference({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } })).toBeUndefined()
    expect(firstDifference({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } })).toBe("b.c.1 is 3, requested 2")
    expect(firstDifference({ a: 1 }, {})).toBe("a is nothing, requested 1")
    expect(runName("vdl-nl", 0.0005)).toBe("vdl-nl-lambda0.0005")
  })
})

describe("finished runs", () => {
  it.effect("a run is finished when its summary.json matches the request, and says why not otherwise", () =>
    Effect.gen(function* () {
      const root = mkdtempSync(join(tmpdir(), "sweep-state-"))
      const [run] = yield* planSweep(spec({ out: root, models: ["vdl"], lambdas: [0.01] }))
      expect(yield* runState(run.out, run.expected)).toEqual({ finished: false, reason: "it has no summary.json yet" })
      mkdirSync(run.out, { recursive: true })
      writeFileSync(join(run.out, "summary.json"), "{ half a fi")
      const torn = yield* runState(run.out, run.expected)
      expect(torn.finished).toBe(false)
      const good = summaryFor(run, 12, 0.8)
      writeFileSync(
        join(run.out, "summary.json"),
        JSON.stringify({ ...good, epochs: 2, settings: { ...good.settings, epochs: 2 } })
      )
      expect(yield* runState(run.out, run.expected)).toEqual({
        finished: false,
        reason: "its summary.json is of another run: epochs is 2, requested 1"
      })
      writeFileSync(
        join(run.out, "summary.json"),
        JSON.stringify({ ...good, settings: { ...good.settings, gamma: 1 } })
      )
      expect(yield* runState(run.out, run.expected)).toMatchObject({
        reason: "its summary.json is of another run: settings.gamma is 1, requested 5"
      })
      writeFileSync(join(run.out, "summary.json"), JSON.stringify(good))
      const state = yield* runState(run.out, run.expected)
      expect(state.finished).toBe(true)
      // A run that asked for a backend only matches a summary from that backend.
      expect((yield* runState(run.out, { ...run.expected, backend: "cpu" })).finished).toBe(false)
    })
  )

  it.effect("job ids name the run and change with anything that defines it", () =>
    Effect.gen(function* () {
      const [a] = yield* planSweep(spec({ models: ["sdl"], lambdas: [0.01] }))
      const [b] = yield* planSweep(spec({ models: ["sdl"], lambdas: [0.01], epochs: 2 }))
      expect(jobId(a)).toMatch(/^sdl-lambda0\.01\.[0-9a-f]{12}$/)
      expect(jobId(a)).toBe(jobId({ ...a }))
      expect(jobId(a)).not.toBe(jobId(b))
    })
  )
})

describe("sweep report", () => {
  it.effect("one row per run, and one curve per model with its points in order of sparsity", () =>
    Effect.gen(function* () {
      const out = mkdtempSync(join(tmpdir(), "sweep-report-"))
      const runs = yield* planSweep(spec({ out }))
      const figures: Record<string, [number, number]> = {
        "sdl-lambda0.005": [14, 0.6],
        "sdl-lambda0.01": [13, 0.75],
        "sdl-lambda0.02": [11, 0.9],
        "vdl-lambda0.005": [15, 0.7],
        "vdl-lambda0.01": [14.5, 0.65]
      }
      const outcomes: RunOutcome[] = runs.map((run) =>
        run.name in figures
          ? { run, status: "ran", summary: summaryFor(run, ...figures[run.name]) as never }
          : { run, status: "failed", error: { message: "boom" } as never }
      )
      const series = tradeoffSeries(outcomes)
      expect(series).toEqual([
        { name: "SDL", x: [0.6, 0.75, 0.9], y: [14, 13, 11] },
        { name: "VDL", x: [0.65, 0.7], y: [14.5, 15] }
      ])
      const files = yield* writeSweepReport(out, outcomes)
      expect(files.map((f) => f.slice(out.length + 1))).toEqual([
        "summary.arrow",
        "summary.csv",
        "summary.md",
        "psnr-vs-sparsity.svg"
      ])
      const rows = readArrowIpc(new Uint8Array(readFileSync(join(out, "summary.arrow"))))
      expect(rows).toEqual(summaryRows(outcomes).map((r) => expect.objectContaining({ run: r.run, status: r.status })))
      expect(rows[5]).toMatchObject({ run: "vdl-lambda0.02", status: "failed", valPsnr: null })
      expect(rows[0]).toMatchObject({
        model: "sdl",
        lambda: 0.005,
        valPsnr: 14,
        valZeroFraction: 0.6,
        testPsnr: 13.9,
        backend: "wasm"
      })
      expect(readFileSync(join(out, "summary.md"), "utf8")).toContain("| vdl-lambda0.02  | vdl   |   0.02 | failed")
      const svg = readFileSync(join(out, "psnr-vs-sparsity.svg"), "utf8")
      expect(svg).toContain("<svg")
      expect(svg).toContain("VDL")
    })
  )
})
