/**
 * The collapse that the regularisers prevent, measured (docs/collapse.md): per epoch, the mean
 * ℓ1 norm of the codes and the mean norm of the decoder's atoms (the columns of A the codes
 * multiply), for each model, with the usual training and evaluation stages. Used by
 * `sparse-vdl paper collapse` (and experiments/collapse.ts) and by the paper's plan.
 */
import { Effect, Stream } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { linePlotSvg } from "../../data/plot.js"
import { type Row, tableToArrowIpc, tableToCsv, tableToMarkdown } from "../../data/table.js"
import type { SparseCodingModel, SplitMetrics } from "../../models/model.js"
import { codeAtomNorms, codeL1Sum, componentUse, mean, usageWeightedMean } from "../../models/norms.js"
import type { ModelSettings } from "../../models/settings.js"
import { batchStream, type Dataset, type Splits } from "../sources/dataset.js"
import { batchCodes } from "../evaluation/codes.js"
import { withBatchTensor } from "../backend/resources.js"
import { trainingLoop } from "../train/loop.js"
import { evaluate } from "../train/epoch.js"

/**
 * The norm stage: on a data set, the mean ℓ1 norm of the encoder's codes and of the FISTA codes
 * warm-started from them. The FISTA codes are what the ℓ1 term acts on during training; the
 * encoder's follow them, a step behind.
 */
const codeNorms = (model: SparseCodingModel, ds: Dataset) =>
  batchStream(ds, model.settings.batchSize, { kind: "sequential" }).pipe(
    Stream.mapEffect((batch) =>
      withBatchTensor(batch.x, batch.rows, ds.dim, (x) => {
        const codes = batchCodes(model, x)
        const sums = {
          encoder: codeL1Sum(codes.encoder),
          fista: codeL1Sum(codes.fista.codes),
          use: componentUse(codes.fista.codes, model.decoder.linalg),
          rows: batch.rows
        }
        codes.encoder.dispose()
        codes.fista.codes.dispose()
        return sums
      })
    ),
    Stream.runFold({ encoder: 0, fista: 0, use: new Float64Array(model.settings.codeDim), rows: 0 }, (a, b) => {
      b.use.forEach((u, j) => (a.use[j] += u))
      return { encoder: a.encoder + b.encoder, fista: a.fista + b.fista, use: a.use, rows: a.rows + b.rows }
    }),
    Effect.map((t) => ({ encoderL1: t.encoder / t.rows, fistaL1: t.fista / t.rows, use: t.use }))
  )

const fmt = (x: number, digits = 3) => x.toFixed(digits)

export interface CollapseOptions {
  readonly models: ReadonlyArray<string>
  /** Each model's settings, in the order of `models`. */
  readonly settings: ReadonlyArray<ModelSettings>
  readonly epochs: number
  readonly seed: number
  readonly out: string
}

/** Trains each model and writes collapse.arrow/.csv/.md and the two figures into `out`. */
export const collapseExperiment = (o: CollapseOptions, splits: Splits<Dataset>) =>
  Effect.gen(function* () {
    const { models, out } = o
    yield* ensureDir(out)
    const rows: Row[] = []
    for (const [k, model] of models.entries()) {
      const record = (m: SparseCodingModel, epoch: number, val: SplitMetrics, trainEnergy: number | null) =>
        Effect.gen(function* () {
          const norms = yield* codeNorms(m, splits.val)
          const atoms = codeAtomNorms(m.decoder)
          const row: Row = {
            model,
            epoch,
            valEncoderCodeL1: norms.encoderL1,
            valFistaCodeL1: norms.fistaL1,
            meanAtomNorm: mean(atoms),
            usedAtomNorm: usageWeightedMean(atoms, norms.use),
            maxAtomNorm: Math.max(...atoms),
            trainEnergy,
            valEnergy: val.energy,
            valPsnr: val.psnr,
            valZeroFraction: val.zeroFraction
          }
          rows.push(row)
          yield* Effect.logInfo(
            `${model} epoch ${epoch}: code ℓ1 ${fmt(norms.fistaL1)} (FISTA) ${fmt(norms.encoderL1)} (encoder) | atom norm ${fmt(mean(atoms))} mean, ${fmt(usageWeightedMean(atoms, norms.use))} weighted by use | ` +
              `val psnr ${fmt(val.psnr, 2)} zeros ${fmt(val.zeroFraction)}`
          )
        })
      yield* Effect.scoped(
        trainingLoop(
          {
            model,
            settings: { ...o.settings[k], epochs: o.epochs },
            epochs: o.epochs,
            seed: o.seed,
            hooks: [
              {
                // Epoch 0 is the initialisation, the point the drift is measured from.
                onStart: ({ model: m }) =>
                  evaluate(m, splits.val).pipe(Effect.flatMap((val) => record(m, 0, val, null))),
                onEpoch: (e) => record(e.model, e.epoch + 1, e.val, e.train.energy)
              }
            ]
          },
          splits
        )
      )
    }
    yield* writeFileAtomic(join(out, "collapse.arrow"), tableToArrowIpc(rows))
    yield* writeFileAtomic(join(out, "collapse.csv"), tableToCsv(rows))
    yield* writeFileAtomic(join(out, "collapse.md"), tableToMarkdown(rows, undefined, { digits: 4 }))
    const series = (key: string, label: (m: string) => string) =>
      models.map((model) => {
        // An epoch where no component fires has no use-weighted norm; the plot skips it.
        const mine = rows.filter((r) => r.model === model && Number.isFinite(Number(r[key])))
        return { name: label(model), x: mine.map((r) => Number(r.epoch)), y: mine.map((r) => Number(r[key])) }
      })
    const plots = [
      {
        file: "collapse-code-l1.svg",
        title: "Mean code ℓ1 norm (validation) by epoch",
        yLabel: "mean ‖z‖₁",
        series: [
          ...series("valFistaCodeL1", (m) => `${m} (FISTA)`),
          ...series("valEncoderCodeL1", (m) => `${m} (encoder)`)
        ]
      },
      {
        file: "collapse-atom-norm.svg",
        title: "Decoder column norms by epoch (in use: weighted by how often each is used)",
        yLabel: "‖A·ⱼ‖₂",
        series: [...series("usedAtomNorm", (m) => `${m} (in use)`), ...series("meanAtomNorm", (m) => `${m} (all)`)]
      }
    ]
    for (const p of plots) {
      const svg = yield* linePlotSvg({
        title: p.title,
        xLabel: "epoch (0: initialisation)",
        yLabel: p.yLabel,
        series: p.series
      })
      yield* writeFileAtomic(join(out, p.file), svg)
    }
    yield* Effect.logInfo(`wrote ${join(out, "collapse.md")}, ${plots.map((p) => join(out, p.file)).join(", ")}`)
    return rows
  })
