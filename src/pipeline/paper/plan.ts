/**
 * The paper's experiments as one plan (docs/paper.md): the MNIST variants at several sparsity
 * levels and the baselines at their preset λ, the natural-image patch variants on a patch file
 * built once, and for every run denoising, for MNIST runs low-data classification, plus the
 * collapse experiment. Each step says what it needs and where its outputs go, so that a second
 * start skips what is done and an interrupted one carries on.
 */
import { Effect } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import type { ModelSettings, SettingsOverrides } from "../../models/settings.js"
import { resolveSettings } from "../train/config.js"
import { ConfigError, type SettingsError } from "../errors.js"
import type { MnistSource } from "../sources/mnist.js"
import { type ExpectedData, type RunRequest, runName } from "../jobs/plan.js"
import {
  mnistDefaultsOf,
  mnistEpochsOf,
  mnistLambdas,
  patchLambdas,
  type Scale,
  scaleSettings,
  type ScaleSettings
} from "./scale.js"

/** The programs of the steps that are not training runs, by the name of their command. */
export type ProgramName = "patches" | "denoise" | "classify" | "collapse"

export type Dataset = "mnist" | "patches"

/** A training run of the plan, run by the sweep's runner (locally or on the queue). */
export interface TrainStep {
  readonly kind: "train"
  readonly id: string
  readonly dataset: Dataset
  /** "sweep": one of several λ of its model; "default": the model at its preset λ. */
  readonly role: "sweep" | "default"
  /** "main": the scale's runs; "spread": one training seed of a preset at the spread's length (<out>/mnist-spread/). */
  readonly group: "main" | "spread"
  readonly seed: number
  /** The run, with its command (MNIST `train` or `patches-train`), as the sweep's runner and the queue take it. */
  readonly request: RunRequest
  readonly deps: ReadonlyArray<string>
  /** Files the run's summary.json must be newer than to count as done (the patch file it trains on). */
  readonly newerThan: ReadonlyArray<string>
}

/** Any other step: one process of the program, done when its stamp says so. */
export interface ProcessStep {
  readonly kind: "patch-build" | "collapse" | "denoise" | "classify"
  readonly id: string
  readonly program: ProgramName
  readonly args: ReadonlyArray<string>
  /** The folder it writes; its stamp (.paper-ID.json) and log (ID.log) go there too. */
  readonly out: string
  /** The files it must exist to count as done, relative to `out`. */
  readonly outputs: ReadonlyArray<string>
  readonly deps: ReadonlyArray<string>
  /** Files its outputs must be newer than (the summary.json of the run it evaluates). */
  readonly newerThan: ReadonlyArray<string>
  /** The run it evaluates, if any. */
  readonly run?: string
}

export type Step = TrainStep | ProcessStep

/** λ per model for one data set. */
export type LambdaTable = Readonly<Record<string, ReadonlyArray<number>>>

export interface PaperSpec {
  readonly scale: Scale
  /** --epochs: replaces both data sets' epochs; null: the scale's. */
  readonly epochs: number | null
  readonly out: string
  readonly seed: number
  readonly mnist: MnistSource
  /** The photos: a folder with train/ val/ test/ (BSDS500), or any folder of photos; null: no patch runs. */
  readonly images: string | null
  readonly backend: string | null
  /** The sizes and evaluation settings; default the scale's. */
  readonly sizes?: ScaleSettings
  /** λ tables; default the scale's. */
  readonly lambdas?: { readonly mnist: LambdaTable; readonly patches: LambdaTable }
  /** Variants trained once at their preset λ on MNIST; default the scale's (scale.ts mnistDefaultsOf). */
  readonly defaultModels?: ReadonlyArray<string>
  /** Settings given to every run (e.g. a smaller code for a test), as command-line words. */
  readonly extraArgs?: ReadonlyArray<string>
  /** The same settings as overrides, so that the plan resolves what the runs will record. */
  readonly overrides?: SettingsOverrides
}

export interface PaperPlan {
  readonly spec: PaperSpec
  readonly sizes: ScaleSettings
  readonly epochs: { readonly mnist: number; readonly patches: number; readonly collapse: number }
  readonly lambdas: { readonly mnist: LambdaTable; readonly patches: LambdaTable }
  readonly patchFile: string | null
  readonly steps: ReadonlyArray<Step>
}

const PATCH_BUILD = "patch-build"
export const COLLAPSE = "collapse"
export const BASELINES = "classify-baselines"

/** The photo folders of --images: BSDS500's train and val for training, test for testing; else the folder itself. */
export const photoFolders = (images: string): { readonly trainVal: string[]; readonly test: string[] } => {
  const root = resolve(images)
  const sub = (name: string) => join(root, name)
  const has = (name: string) => existsSync(sub(name))
  if (has("train") && has("test"))
    return { trainVal: [sub("train"), ...(has("val") ? [sub("val")] : [])], test: [sub("test")] }
  // A folder holding one data set's folder (…/natural-images with bsds500/ inside).
  const inner = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()) : []
  if (
    inner.length === 1 &&
    existsSync(join(root, inner[0].name, "train")) &&
    existsSync(join(root, inner[0].name, "test"))
  )
    return photoFolders(join(root, inner[0].name))
  return { trainVal: [root], test: [] }
}

const mnistArgs = (source: MnistSource): string[] =>
  source.kind === "dir" ? ["--mnist-dir", resolve(source.dir)] : source.kind === "download" ? ["--download"] : []

const checkTable = (option: string, table: LambdaTable) =>
  Effect.gen(function* () {
    for (const [model, lambdas] of Object.entries(table)) {
      if (new Set(lambdas).size !== lambdas.length)
        return yield* Effect.fail(
          new ConfigError({ option, problem: `λ of ${model} listed twice in ${lambdas.join(", ")}` })
        )
      if (lambdas.some((l) => !(l >= 0)))
        return yield* Effect.fail(
          new ConfigError({ option, problem: `λ of ${model} must be ≥ 0, not ${lambdas.join(", ")}` })
        )
    }
  })

/**
 * Every step of the plan, in the order they are started: the patch file, the collapse
 * experiment, the MNIST runs, the patch runs, then each run's evaluations and the classification
 * baselines. Settings are resolved here, so that a bad combination fails before anything runs.
 */
export const planPaper = (spec: PaperSpec): Effect.Effect<PaperPlan, ConfigError | SettingsError> =>
  Effect.gen(function* () {
    if (spec.epochs !== null && !(Number.isInteger(spec.epochs) && spec.epochs >= 1)) {
      return yield* Effect.fail(
        new ConfigError({ option: "--epochs", problem: `${spec.epochs} is not a positive whole number of epochs` })
      )
    }
    const sizes = spec.sizes ?? scaleSettings[spec.scale]
    const epochs = {
      mnist: spec.epochs ?? sizes.mnist.epochs,
      patches: spec.epochs ?? sizes.patches.epochs,
      collapse: Math.min(spec.epochs ?? sizes.collapse.epochs, sizes.collapse.epochs)
    }
    const lambdas = spec.lambdas ?? {
      mnist: mnistLambdas[spec.scale],
      patches: spec.images === null ? {} : patchLambdas[spec.scale]
    }
    yield* checkTable("mnist λ table", lambdas.mnist)
    yield* checkTable("patch λ table", lambdas.patches)
    const root = resolve(spec.out)
    const extra = spec.extraArgs ?? []
    const overrides = spec.overrides ?? {}
    const backendArgs = spec.backend === null ? [] : ["--backend", spec.backend]
    const steps: Step[] = []

    // The patch file, built once and shared by every patch run.
    const patchModels = Object.keys(lambdas.patches)
    const patchFile = spec.images !== null && patchModels.length > 0 ? join(root, "data", "patches.arrow") : null
    if (spec.images !== null && patchFile !== null) {
      const folders = photoFolders(spec.images)
      const { train, val, test } = sizes.patches
      steps.push({
        kind: "patch-build",
        id: PATCH_BUILD,
        program: "patches",
        args: [
          "build",
          ...folders.trainVal.flatMap((f) => ["--images", f]),
          ...folders.test.flatMap((f) => ["--test-images", f]),
          "--train",
          String(train),
          "--val",
          String(val),
          "--test",
          String(test),
          "--seed",
          String(spec.seed),
          "--out",
          patchFile
        ],
        out: join(root, "data"),
        outputs: ["patches.arrow", "patches.arrow.json"],
        deps: [],
        newerThan: []
      })
    }

    // The collapse: per epoch, code norms and atom norms without a regulariser and with VDL's.
    const collapseOut = join(root, "collapse")
    steps.push({
      kind: "collapse",
      id: COLLAPSE,
      program: "collapse",
      args: [
        "--model",
        sizes.collapse.models.join(","),
        "--epochs",
        String(epochs.collapse),
        ...(sizes.collapse.trainSize === null ? [] : ["--train-size", String(sizes.collapse.trainSize)]),
        ...mnistArgs(spec.mnist),
        "--seed",
        String(spec.seed),
        ...backendArgs,
        ...extra,
        "--out",
        collapseOut
      ],
      out: collapseOut,
      outputs: ["collapse.arrow", "collapse-code-l1.svg", "collapse-atom-norm.svg"],
      deps: [],
      newerThan: []
    })

    /**
     * One training run of the plan, into <out>/<dataset>/<name>, run by `command`: `lead` (the
     * data file option) before the model, λ, epochs and seed, `dataArgs` after them, then the
     * backend, the extra arguments and --out; `data` is what its summary must record as trained on.
     */
    const trainStep = (o: {
      readonly dataset: Dataset
      readonly role: TrainStep["role"]
      readonly group?: TrainStep["group"]
      readonly seed?: number
      readonly command: NonNullable<RunRequest["command"]>
      readonly model: string
      readonly lambda: number
      readonly settings: ModelSettings
      readonly epochs: number
      readonly lead: ReadonlyArray<string>
      readonly dataArgs: ReadonlyArray<string>
      readonly data: ExpectedData
      readonly deps: ReadonlyArray<string>
      readonly newerThan: ReadonlyArray<string>
    }): TrainStep => {
      const group = o.group ?? "main"
      const seed = o.seed ?? spec.seed
      const name = group === "spread" ? `${runName(o.model, o.lambda)}-seed${seed}` : runName(o.model, o.lambda)
      const folder = group === "spread" ? `${o.dataset}-spread` : o.dataset
      const out = join(root, folder, name)
      return {
        kind: "train",
        id: `${folder}/${name}`,
        dataset: o.dataset,
        role: o.role,
        group,
        seed,
        deps: o.deps,
        newerThan: o.newerThan,
        request: {
          name,
          command: o.command,
          model: o.model,
          lambda: o.lambda,
          out,
          args: [
            ...o.lead,
            "--model",
            o.model,
            "--lambda",
            String(o.lambda),
            "--epochs",
            String(o.epochs),
            "--seed",
            String(seed),
            ...o.dataArgs,
            ...backendArgs,
            ...extra,
            "--out",
            out
          ],
          expected: {
            model: o.model,
            seed,
            epochs: o.epochs,
            settings: { ...o.settings, epochs: o.epochs },
            data: o.data,
            backend: spec.backend
          }
        }
      }
    }

    // MNIST: the four variants at several λ, then the baselines at their preset λ.
    const mnistRuns: Array<{
      model: string
      lambda: number
      role: "sweep" | "default"
      group?: "spread"
      seed?: number
      epochs?: number
    }> = []
    for (const [model, ls] of Object.entries(lambdas.mnist))
      for (const lambda of ls) mnistRuns.push({ model, lambda, role: "sweep" })
    for (const model of spec.defaultModels ?? mnistDefaultsOf[spec.scale]) {
      const preset = yield* resolveSettings(model, "mnist", overrides)
      mnistRuns.push({ model, lambda: preset.lambda, role: "default" })
    }
    // The spread: each preset once per training seed, at the spread's length (--epochs replaces it too).
    if (sizes.spread !== undefined) {
      for (const model of sizes.spread.models) {
        const preset = yield* resolveSettings(model, "mnist", overrides)
        for (let k = 0; k < sizes.spread.seeds; k++)
          mnistRuns.push({
            model,
            lambda: preset.lambda,
            role: "default",
            group: "spread",
            seed: spec.seed + k,
            epochs: spec.epochs ?? sizes.spread.epochs
          })
      }
    }
    const trainSteps: TrainStep[] = []
    const trainSize = sizes.mnist.trainSize
    const mnistData: ExpectedData = {
      _tag: "mnist",
      mnist:
        spec.mnist.kind === "dir"
          ? { kind: "dir", dir: resolve(spec.mnist.dir) }
          : spec.mnist.kind === "download"
            ? { kind: "download" }
            : spec.mnist,
      trainSize
    }
    for (const { model, lambda, role, group, seed, epochs } of mnistRuns) {
      const inference = group === undefined ? sizes.mnist.inferenceOf?.[model] : undefined
      trainSteps.push(
        trainStep({
          dataset: "mnist",
          role,
          ...(group === undefined ? {} : { group }),
          ...(seed === undefined ? {} : { seed }),
          command: "train",
          model,
          lambda,
          settings: yield* resolveSettings(model, "mnist", { ...overrides, lambda, ...(inference && { inference }) }),
          epochs: epochs ?? mnistEpochsOf(sizes, model, spec.epochs),
          lead: [],
          dataArgs: [
            ...mnistArgs(spec.mnist),
            ...(trainSize === null ? [] : ["--train-size", String(trainSize)]),
            ...(inference === undefined ? [] : ["--inference", inference])
          ],
          data: mnistData,
          deps: [],
          newerThan: []
        })
      )
    }

    // Patches: each variant at its λ, on the file built above.
    if (patchFile !== null) {
      for (const [model, ls] of Object.entries(lambdas.patches)) {
        for (const lambda of ls) {
          trainSteps.push(
            trainStep({
              dataset: "patches",
              role: "sweep",
              command: "patches-train",
              model,
              lambda,
              settings: yield* resolveSettings(model, "patches", { ...overrides, lambda }),
              epochs: epochs.patches,
              lead: ["--data", patchFile],
              dataArgs: [],
              // A patch run records the patch file it trained on, as given on its command line.
              data: { _tag: "file", path: patchFile },
              deps: [PATCH_BUILD],
              newerThan: [patchFile]
            })
          )
        }
      }
    }
    steps.push(...trainSteps)

    // Evaluations of every run, into the run's own folder (where `sparse-vdl report` finds them too).
    const { denoise, classify } = sizes
    for (const t of trainSteps) {
      const run = t.request.out
      const summary = join(run, "summary.json")
      steps.push({
        kind: "denoise",
        id: `${t.id}/denoise`,
        program: "denoise",
        args: [
          run,
          "--sigma",
          denoise.sigmas.join(","),
          "--seed",
          String(spec.seed),
          "--examples",
          String(denoise.examples),
          ...(denoise.limit === null ? [] : ["--limit", String(denoise.limit)]),
          ...backendArgs,
          "--out",
          join(run, "denoise")
        ],
        out: join(run, "denoise"),
        outputs: ["denoise.arrow", "denoise.json"],
        deps: [t.id],
        newerThan: [summary],
        run: t.id
      })
    }
    const classifyArgs = [
      "--per-class",
      classify.perClass.join(","),
      "--seeds",
      String(classify.seeds),
      "--epochs",
      String(classify.epochs),
      "--seed",
      String(spec.seed),
      ...(classify.valLimit === null ? [] : ["--val-limit", String(classify.valLimit)]),
      ...(classify.testLimit === null ? [] : ["--test-limit", String(classify.testLimit)]),
      ...(classify.subset === undefined ? [] : ["--subset", classify.subset]),
      ...(classify.batchSize === undefined ? [] : ["--batch-size", String(classify.batchSize)]),
      ...backendArgs
    ]
    const mnistTrain = trainSteps.filter((t) => t.dataset === "mnist")
    for (const t of mnistTrain) {
      const run = t.request.out
      steps.push({
        kind: "classify",
        id: `${t.id}/classify`,
        program: "classify",
        args: [run, "--series", "codes", ...classifyArgs, "--out", join(run, "classify")],
        out: join(run, "classify"),
        outputs: ["classify.arrow", "classify.json"],
        deps: [t.id],
        newerThan: [join(run, "summary.json")],
        run: t.id
      })
    }
    // Raw pixels and end-to-end LISTA use no trained run; the first MNIST run lends its data (and LISTA its code size).
    if (mnistTrain.length > 0) {
      // A short run lends its data, so that the baselines can share a sitting with it (sittings.ts).
      const lender = mnistTrain.find((t) => t.group === "spread") ?? mnistTrain[0]
      const first = lender.request.out
      steps.push({
        kind: "classify",
        id: BASELINES,
        program: "classify",
        args: [first, "--series", "baselines", ...classifyArgs, "--out", join(root, BASELINES)],
        out: join(root, BASELINES),
        outputs: ["classify.arrow", "classify.json"],
        deps: [lender.id],
        newerThan: [],
        run: lender.id
      })
    }
    return { spec, sizes, epochs, lambdas, patchFile, steps }
  })

export const trainSteps = (plan: PaperPlan): TrainStep[] => plan.steps.filter((s): s is TrainStep => s.kind === "train")
export const processSteps = (plan: PaperPlan): ProcessStep[] =>
  plan.steps.filter((s): s is ProcessStep => s.kind !== "train")
