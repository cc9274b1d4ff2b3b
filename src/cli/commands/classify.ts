/**
 * Low-data classification on the labelled data of runs (MNIST, a labelled image folder, any
 * source with labels): a linear classifier on K labelled training images
 * per class, selected by validation loss, reported as test top-1 accuracy over several repeats;
 * on each run's encoder codes and FISTA codes, beside two baselines that use no run: raw pixels,
 * and a randomly initialised LISTA with a linear layer trained end to end.
 *   npx tsx experiments/classify.ts RUN... [--per-class 1,2,5,10,20,50,100] [--seeds 5]
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { join } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import type { Row } from "../../data/table.js"
import type { Dataset } from "../../pipeline/sources/dataset.js"
import type { ClassifyPlan, Features, Labels, Series } from "../../pipeline/evaluation/classify.js"
import { EvaluationError } from "../../pipeline/evaluation/errors.js"
import type { RunFolder } from "../../pipeline/evaluation/run-folder.js"
import { subsetModes } from "../../pipeline/choices.js"
import { backendOption, choiceOption, seedOption } from "../options.js"
import type { UnionToIntersection } from "../lazy.js"
import {
  dataPathOption,
  evalOutOption,
  mnistDirOption,
  numberList,
  optionalPositive,
  runsArgs
} from "../evaluation-options.js"

const summaryColumns = [
  "series",
  "run",
  "model",
  "features",
  "perClass",
  "repeats",
  "accuracyMean",
  "accuracyStd",
  "accuracyMin",
  "accuracyMax",
  "bestEpochMean",
  "seconds",
  "runDir"
] as const
const repeatColumns = [
  "series",
  "run",
  "features",
  "perClass",
  "repeat",
  "seed",
  "accuracy",
  "bestEpoch",
  "bestValLoss",
  "runDir"
] as const

const options = {
  perClass: Options.text("per-class").pipe(
    Options.withDescription("labelled training examples per class K, comma-separated (default 1,2,5,10,20,50,100)"),
    Options.withDefault("1,2,5,10,20,50,100")
  ),
  seeds: Options.integer("seeds").pipe(
    Options.withDescription("repeats per K, each with its own examples, initialisation and order (default 5)"),
    Options.withDefault(5)
  ),
  seed: seedOption,
  epochs: Options.integer("epochs").pipe(
    Options.withDescription("classifier training epochs (default 100)"),
    Options.withDefault(100)
  ),
  batchSize: Options.integer("batch-size").pipe(
    Options.withDescription("classifier mini-batch size (default 32; the authors' protocol uses 250)"),
    Options.withDefault(32)
  ),
  subset: choiceOption("subset", subsetModes).pipe(
    Options.withDescription(
      "how the K examples per class are picked: random (default), a seeded random K per repeat; first, the first K of each class in training order for every repeat, as the authors' protocol"
    ),
    Options.withDefault("random" as const)
  ),
  lr: Options.float("lr").pipe(
    Options.withDescription("classifier Adam learning rate (default 1e-3)"),
    Options.withDefault(1e-3)
  ),
  series: choiceOption("series", ["all", "codes", "baselines", "pixels", "lista"]).pipe(
    Options.withDescription(
      "what to train: all (default); codes (the runs' encoder and FISTA codes only); baselines (raw pixels and end-to-end LISTA); pixels; lista. " +
        "Outputs of separate invocations written to separate folders are merged by experiments/report.ts"
    ),
    Options.withDefault("all")
  ),
  valLimit: Options.integer("val-limit").pipe(
    Options.withDescription("use only the first N validation images (for a quick look; default all)"),
    Options.optional
  ),
  testLimit: Options.integer("test-limit").pipe(
    Options.withDescription("use only the first N test images (for a quick look; default all)"),
    Options.optional
  ),
  out: evalOutOption("classify"),
  mnistDir: mnistDirOption,
  data: dataPathOption,
  backend: backendOption
}

const needLabels = (ds: Dataset, run: RunFolder) =>
  ds.labels === null
    ? Effect.fail(
        new EvaluationError({
          what: `classification of ${run.name}`,
          problem: `its ${ds.name} split has no labels; classify runs trained on labelled data (MNIST, or a folder of class subfolders: train --source labelled-images --data DIR)`
        })
      )
    : Effect.succeed(ds.labels)

/** The runs' models, the probes and TensorFlow.js, loaded when the command runs rather than for --help. */
const library = () =>
  Promise.all([
    import("../../data/plot.js"),
    import("../../models/classifier.js"),
    import("../../models/gather-rows.js"),
    import("../../pipeline/backend/backend.js"),
    import("../../pipeline/sources/dataset.js"),
    import("../../pipeline/evaluation/classify.js"),
    import("../../pipeline/evaluation/codes.js"),
    import("../../pipeline/evaluation/outputs.js"),
    import("../../pipeline/evaluation/run-folder.js")
  ]).then((modules) => Object.assign({}, ...modules) as UnionToIntersection<(typeof modules)[number]>)

export const classifyCommand = Command.make("classify", { runs: runsArgs, ...options }, (o) =>
  Effect.flatMap(
    Effect.promise(library),
    ({
      linePlotSvg,
      linearProbe,
      listaProbe,
      gatherRows,
      BackendLive,
      firstRows,
      runSeries,
      selectExamples,
      spread,
      codeKindLabel,
      codeKinds,
      inferCodes,
      shortNumber,
      writeTable,
      loadRunsData,
      readRunFolders,
      runModel
    }) =>
      Effect.gen(function* () {
        const perClass = yield* numberList(
          "per-class",
          o.perClass,
          (k) => Number.isInteger(k) && k > 0,
          "positive whole numbers"
        )
        const repeats = (yield* optionalPositive("seeds", Option.some(o.seeds))) as number
        const epochs = (yield* optionalPositive("epochs", Option.some(o.epochs))) as number
        const batchSize = (yield* optionalPositive("batch-size", Option.some(o.batchSize))) as number
        const valLimit = yield* optionalPositive("val-limit", o.valLimit)
        const testLimit = yield* optionalPositive("test-limit", o.testLimit)
        if (!(o.lr > 0))
          return yield* Effect.fail(
            new EvaluationError({ what: "option --lr", problem: `${o.lr} is not a positive learning rate` })
          )
        const studyPlan: Omit<ClassifyPlan, "classes"> = {
          perClass: [...perClass].sort((a, b) => a - b),
          repeats,
          seed: o.seed,
          epochs,
          batchSize,
          learningRate: o.lr,
          subset: o.subset
        }
        const runs = yield* readRunFolders(o.runs)
        const out = Option.getOrElse(o.out, () => join(runs[0].dir, "classify"))
        yield* ensureDir(out)
        const loaded = yield* loadRunsData(runs, {
          mnistDir: Option.getOrUndefined(o.mnistDir),
          data: Option.getOrUndefined(o.data)
        })
        const groups = new Map<string, typeof loaded>()
        for (const entry of loaded) groups.set(entry.recipe.key, [...(groups.get(entry.recipe.key) ?? []), entry])

        const summaryRows: Row[] = []
        const repeatRows: Row[] = []
        const curves: Array<{ name: string; x: number[]; y: number[] }> = []
        const record = (
          series: Series,
          run: RunFolder | null,
          features: string,
          outcomes: ReadonlyArray<{
            perClass: number
            repeat: number
            accuracy: number
            bestEpoch: number
            bestValLoss: number
          }>,
          seconds: number
        ) => {
          const means: number[] = []
          for (const k of studyPlan.perClass) {
            const mine = outcomes.filter((x) => x.perClass === k)
            const acc = spread(mine.map((x) => x.accuracy))
            means.push(100 * acc.mean)
            summaryRows.push({
              series: series.name,
              run: run?.name ?? null,
              model: run?.model ?? null,
              features,
              perClass: k,
              repeats: mine.length,
              accuracyMean: acc.mean,
              accuracyStd: acc.std,
              accuracyMin: acc.min,
              accuracyMax: acc.max,
              bestEpochMean: spread(mine.map((x) => x.bestEpoch)).mean,
              seconds: seconds / studyPlan.perClass.length,
              runDir: run?.dir ?? null
            })
            for (const x of mine) {
              repeatRows.push({
                series: series.name,
                run: run?.name ?? null,
                features,
                perClass: k,
                repeat: x.repeat,
                seed: studyPlan.seed + x.repeat,
                accuracy: x.accuracy,
                bestEpoch: x.bestEpoch,
                bestValLoss: x.bestValLoss,
                runDir: run?.dir ?? null
              })
            }
          }
          curves.push({ name: series.name, x: [...studyPlan.perClass], y: means })
          return Effect.logInfo(
            `${series.name}: ` +
              studyPlan.perClass.map((k, i) => `K=${k} ${means[i].toFixed(1)}%`).join(", ") +
              ` (${seconds.toFixed(0)} s)`
          )
        }
        const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.gen(function* () {
            const started = performance.now()
            const value = yield* effect
            return { value, seconds: (performance.now() - started) / 1000 }
          })

        for (const [, group] of groups) {
          const { run: first, data } = group[0]
          const val = firstRows(data.val, valLimit)
          const test = firstRows(data.test, testLimit)
          const labels: Labels = {
            train: yield* needLabels(data.train, first),
            val: yield* needLabels(val, first),
            test: yield* needLabels(test, first)
          }
          // As many classes as the labels number: 10 for MNIST, the class folders of a labelled folder.
          const plan: ClassifyPlan = {
            ...studyPlan,
            classes:
              1 + Math.max(...[labels.train, labels.val, labels.test].map((l) => l.reduce((a, b) => Math.max(a, b), 0)))
          }
          if (plan.classes < 2) {
            return yield* Effect.fail(
              new EvaluationError({
                what: `classification of ${first.name}`,
                problem: "every image of its data has the one label 0; classification needs two classes or more"
              })
            )
          }
          const selection = yield* selectExamples(labels.train, plan)
          yield* Effect.logInfo(
            `classification on ${data.train.rows} train / ${val.rows} val / ${test.rows} test images; ${selection.pool.length} training images (${o.subset === "first" ? "the first K of each class" : "a random K of each class per repeat"}) are used by ${repeats} repeats of K = ${plan.perClass.join(", ")}`
          )
          const suffix = groups.size > 1 ? ` (data of ${first.name})` : ""
          const pixels: Features = {
            dim: data.train.dim,
            pool: gatherRows(data.train.x, data.train.dim, selection.pool),
            val: val.x,
            test: test.x
          }
          const wants = (what: "codes" | "pixels" | "lista") =>
            o.series === "all" || o.series === what || (o.series === "baselines" && what !== "codes")
          if (wants("pixels")) {
            const series: Series = { name: `pixels${suffix}`, features: pixels, probe: linearProbe }
            const { value, seconds } = yield* timed(runSeries(series, labels, selection, plan))
            yield* record(series, null, "pixels", value, seconds)
          }
          for (const { run } of wants("codes") ? group : []) {
            const codes = yield* Effect.scoped(
              Effect.gen(function* () {
                const model = yield* runModel(run)
                const dim = data.train.dim
                const pool = yield* inferCodes(
                  model,
                  pixels.pool,
                  selection.pool.length,
                  dim,
                  `codes ${run.name} train`
                )
                const v = yield* inferCodes(model, val.x, val.rows, dim, `codes ${run.name} val`)
                const t = yield* inferCodes(model, test.x, test.rows, dim, `codes ${run.name} test`)
                return { pool, val: v, test: t }
              })
            )
            yield* Effect.logInfo(
              `${run.name}: codes ready; FISTA took ${codes.test.meanFistaSteps.toFixed(1)} steps per test image`
            )
            for (const kind of codeKinds) {
              const features: Features = {
                dim: codes.pool.codeDim,
                pool: codes.pool[kind],
                val: codes.val[kind],
                test: codes.test[kind]
              }
              const series: Series = { name: `${run.name} ${codeKindLabel[kind]}`, features, probe: linearProbe }
              const { value, seconds } = yield* timed(runSeries(series, labels, selection, plan))
              yield* record(series, run, kind, value, seconds)
            }
          }
          if (wants("lista")) {
            const { codeDim, listaSteps } = first.settings
            const series: Series = {
              name: `LISTA end to end${suffix}`,
              features: pixels,
              probe: (init, dim, classes, linalg) => listaProbe(init, dim, codeDim, listaSteps, classes, linalg)
            }
            const { value, seconds } = yield* timed(runSeries(series, labels, selection, plan))
            yield* record(series, null, "lista", value, seconds)
          }
        }

        yield* writeTable(out, "classify", summaryRows, summaryColumns)
        yield* writeTable(out, "classify-repeats", repeatRows, repeatColumns)
        const svg = yield* linePlotSvg({
          title: `Low-data classification: test accuracy (mean of ${repeats} repeat${repeats > 1 ? "s" : ""})`,
          xLabel: "labelled examples per class",
          yLabel: "test top-1 accuracy (%)",
          logX: true,
          series: curves
        })
        yield* writeFileAtomic(join(out, "classify-accuracy.svg"), svg)
        const manifest = {
          kind: "classify",
          perClass: studyPlan.perClass,
          repeats,
          seed: o.seed,
          epochs,
          batchSize,
          learningRate: o.lr,
          subset: o.subset,
          selection: "validation loss, best epoch's weights restored",
          runs: runs.map((r) => ({ name: r.name, dir: r.dir, model: r.model })),
          series: curves.map((c) => c.name),
          files: [
            "classify.arrow",
            "classify.csv",
            "classify.md",
            "classify-repeats.arrow",
            "classify-repeats.csv",
            "classify-repeats.md",
            "classify-accuracy.svg"
          ]
        }
        yield* writeFileAtomic(join(out, "classify.json"), JSON.stringify(manifest, null, 2) + "\n")
        yield* Effect.logInfo(`wrote ${out} (K = ${studyPlan.perClass.map(shortNumber).join(", ")})`)
      }).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
  )
)
