/**
 * Denoising of trained runs on their test set: Gaussian noise of each level σ in the
 * model's input space, then the PSNR against the clean image of the reconstructions from the
 * encoder's codes and from full FISTA inference, beside the PSNR of the noisy input itself and
 * the sparsity of clean and noisy codes. Writes a table, a plot of PSNR against σ and pictures.
 * MNIST and patch runs alike: PSNR is in pixel space, the LCN undone per patch.
 *   npx tsx experiments/denoise.ts RUN... [--sigma 0.5,1,1.5,2] [--out DIR]
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import type { Row } from "../../data/table.js"
import { backendOption, seedOption } from "../options.js"
import type { UnionToIntersection } from "../lazy.js"
import {
  dataPathOption,
  evalOutOption,
  mnistDirOption,
  numberList,
  optionalPositive,
  patchFileOption,
  runsArgs
} from "../evaluation-options.js"

const denoiseColumns = [
  "run",
  "model",
  "codes",
  "sigma",
  "noisyPsnr",
  "denoisedPsnr",
  "cleanPsnr",
  "cleanZeroFraction",
  "noisyZeroFraction",
  "meanFistaSteps",
  "images",
  "runDir"
] as const

const options = {
  sigma: Options.text("sigma").pipe(
    Options.withDescription(
      "noise levels σ in the model's normalised input space, comma-separated (default 0.5,1,1.5,2; the paper's scripts use 1)"
    ),
    Options.withDefault("0.5,1,1.5,2")
  ),
  seed: seedOption,
  examples: Options.integer("examples").pipe(
    Options.withDescription("test images shown in the pictures (default 8)"),
    Options.withDefault(8)
  ),
  limit: Options.integer("limit").pipe(
    Options.withDescription("use only the first N test images (for a quick look; default all)"),
    Options.optional
  ),
  out: evalOutOption("denoise"),
  mnistDir: mnistDirOption,
  patchFile: patchFileOption,
  data: dataPathOption,
  backend: backendOption
}

/** The runs' models, the pictures and TensorFlow.js, loaded when the command runs rather than for --help. */
const library = () =>
  Promise.all([
    import("../../data/image-grid.js"),
    import("../../data/plot.js"),
    import("../../pipeline/backend/backend.js"),
    import("../../pipeline/sources/dataset.js"),
    import("../../pipeline/evaluation/codes.js"),
    import("../../pipeline/evaluation/denoise.js"),
    import("../../pipeline/evaluation/run-folder.js"),
    import("../../pipeline/evaluation/outputs.js")
  ]).then((modules) => Object.assign({}, ...modules) as UnionToIntersection<(typeof modules)[number]>)

export const denoiseCommand = Command.make("denoise", { runs: runsArgs, ...options }, (o) =>
  Effect.flatMap(
    Effect.promise(library),
    ({
      rowsGridPng,
      linePlotSvg,
      BackendLive,
      firstRows,
      codeKindLabel,
      codeKinds,
      denoiseModel,
      standardNoise,
      loadRunsData,
      readRunFolders,
      runModel,
      shortNumber,
      writeTable
    }) =>
      Effect.gen(function* () {
        const sigmas = yield* numberList("sigma", o.sigma, (x) => x >= 0, "noise levels ≥ 0")
        const limit = yield* optionalPositive("limit", o.limit)
        const examples = Math.max(1, o.examples)
        const runs = yield* readRunFolders(o.runs)
        const out = Option.getOrElse(o.out, () => join(runs[0].dir, "denoise"))
        yield* ensureDir(out)
        const loaded = yield* loadRunsData(runs, {
          mnistDir: Option.getOrUndefined(o.mnistDir),
          patchFile: Option.getOrUndefined(o.patchFile),
          data: Option.getOrUndefined(o.data)
        })
        const rows: Row[] = []
        const manifestRuns: Array<Record<string, unknown>> = []
        const curves: Array<{ name: string; x: number[]; y: number[] }> = []
        let noisyCurve: { name: string; x: number[]; y: number[] } | null = null
        for (const { run, data } of loaded) {
          const test = firstRows(data.test, limit)
          const noise = standardNoise(o.seed, test.rows * test.dim)
          const result = yield* Effect.scoped(
            Effect.gen(function* () {
              const model = yield* runModel(run)
              return yield* denoiseModel(model, test, { sigmas, noise, examples }, `denoise ${run.name}`)
            })
          )
          for (const level of result.levels) {
            rows.push({
              run: run.name,
              model: run.model,
              codes: level.kind,
              sigma: level.sigma,
              noisyPsnr: level.noisyPsnr,
              denoisedPsnr: level.denoisedPsnr,
              cleanPsnr: level.cleanPsnr,
              cleanZeroFraction: level.cleanZeroFraction,
              noisyZeroFraction: level.noisyZeroFraction,
              meanFistaSteps: level.meanFistaSteps,
              images: test.rows,
              runDir: run.dir
            })
          }
          for (const kind of codeKinds) {
            const mine = result.levels.filter((l) => l.kind === kind)
            curves.push({
              name: `${run.name} ${codeKindLabel[kind]}`,
              x: mine.map((l) => l.sigma),
              y: mine.map((l) => l.denoisedPsnr)
            })
            yield* Effect.logInfo(
              `${run.name} ${codeKindLabel[kind]}: ` +
                mine
                  .map((l) => `σ=${shortNumber(l.sigma)} ${l.noisyPsnr.toFixed(2)} → ${l.denoisedPsnr.toFixed(2)} dB`)
                  .join(", ")
            )
          }
          if (noisyCurve === null) {
            const enc = result.levels.filter((l) => l.kind === "encoder")
            noisyCurve = { name: "noisy input", x: enc.map((l) => l.sigma), y: enc.map((l) => l.noisyPsnr) }
          }
          // One row of tiles per image: clean, then for each σ the noisy input and both reconstructions.
          const { examples: ex } = result
          const sets = [
            ex.clean,
            ...sigmas.flatMap((_, i) => [ex.noisy[i], ex.denoised.encoder[i], ex.denoised.fista[i]])
          ]
          const file = `examples-${run.name.replace(/[^A-Za-z0-9._-]+/g, "_")}.png`
          yield* writeFileAtomic(
            join(out, file),
            rowsGridPng(sets, {
              count: ex.count,
              height: test.height,
              width: test.width,
              columns: 1,
              scaling: "range",
              range: [0, 1],
              zoom: 2
            })
          )
          manifestRuns.push({ name: run.name, dir: run.dir, model: run.model, examples: file, images: test.rows })
        }
        yield* writeTable(out, "denoise", rows, denoiseColumns)
        const svg = yield* linePlotSvg({
          title: "Denoising: PSNR against the clean image",
          xLabel: "noise σ (normalised input space)",
          yLabel: "PSNR (dB)",
          series: noisyCurve === null ? curves : [...curves, noisyCurve]
        })
        yield* writeFileAtomic(join(out, "denoise-psnr.svg"), svg)
        const manifest = {
          kind: "denoise",
          sigmas,
          seed: o.seed,
          examples,
          exampleColumns: [
            "clean",
            ...sigmas.flatMap((s) => [
              `noisy σ=${shortNumber(s)}`,
              `encoder σ=${shortNumber(s)}`,
              `FISTA σ=${shortNumber(s)}`
            ])
          ],
          runs: manifestRuns,
          files: [
            "denoise.arrow",
            "denoise.csv",
            "denoise.md",
            "denoise-psnr.svg",
            ...manifestRuns.map((r) => r.examples)
          ]
        }
        yield* writeFileAtomic(join(out, "denoise.json"), JSON.stringify(manifest, null, 2) + "\n")
        yield* Effect.logInfo(`wrote ${out}`)
      }).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
  )
)
