/**
 * What a sitting leaves in the repository: the small artefacts of every finished step, copied
 * from the plan's folder into a results folder of the same layout (docs/results/paper), and each
 * main run's best checkpoint as weights only into models/. The report is built from the results
 * folder, so a later sitting on a fresh machine starts from what was committed.
 */
import { Effect } from "effect"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { encodeSnapshot, readCheckpoint, weightsOnlySnapshot } from "../train/checkpoint.js"
import { bestCheckpointFile } from "../train/layout.js"
import type { PaperPlan, TrainStep } from "./plan.js"

/** Files a results folder keeps: tables, summaries and pictures; never checkpoints, logs or stamps. */
const KEPT = /\.(json|csv|md|arrow|svg|png)$/
const DROPPED = /^(\.paper-|.*\.log$|.*\.safetensors$)/
/** A picture larger than this stays in the plan's folder (a multi-layer decoder's full column grid). */
const MAX_PICTURE_BYTES = 1024 * 1024

/** Copies the kept files under `from` to `to`, each written beside its place and renamed into it. */
const copyTree = (from: string, to: string, copied: string[]): void => {
  if (!existsSync(from)) return
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name)
    if (entry.isDirectory()) {
      // columns/: a picture per epoch, 200 of them at the paper's length.
      if (entry.name !== "columns") copyTree(source, join(to, entry.name), copied)
      continue
    }
    if (!KEPT.test(entry.name) || DROPPED.test(entry.name)) continue
    if (entry.name.endsWith(".png") && statSync(source).size > MAX_PICTURE_BYTES) continue
    mkdirSync(to, { recursive: true })
    const target = join(to, entry.name)
    copyFileSync(source, `${target}.partial`)
    renameSync(`${target}.partial`, target)
    copied.push(target)
  }
}

/** The file a main run's weights go to: `<dataset>-<run>.safetensors`, e.g. mnist-vdl-nl-lambda0.01.safetensors. */
export const modelFileName = (step: TrainStep) => `${step.dataset}-${step.request.name}.safetensors`

/**
 * Writes a run's best checkpoint as weights only (no optimizer state, no progress) to `file`,
 * with a JSON beside it holding what the run's summary says of it (epochs, best epoch, PSNR and
 * zero fractions, seed).
 */
export const exportWeights = (runDir: string, file: string) =>
  Effect.gen(function* () {
    const snapshot = yield* readCheckpoint(join(runDir, bestCheckpointFile))
    yield* ensureDir(dirname(file))
    yield* writeFileAtomic(file, encodeSnapshot(weightsOnlySnapshot(snapshot)))
    const summary = (() => {
      try {
        return JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as Record<string, unknown>
      } catch {
        return {}
      }
    })()
    const card = {
      file: basename(file),
      model: snapshot.model,
      lambda: snapshot.settings.lambda,
      epochsTrained: summary.epochs ?? null,
      bestEpoch: summary.bestEpoch ?? snapshot.epoch + 1,
      seed: summary.seed ?? null,
      val: summary.val ?? null,
      test: summary.test ?? null,
      input: snapshot.input ?? null,
      settings: snapshot.settings
    }
    yield* writeFileAtomic(file.replace(/\.safetensors$/, ".json"), JSON.stringify(card, null, 2) + "\n")
    return file
  })

export interface ExportOutcome {
  readonly copied: ReadonlyArray<string>
  readonly models: ReadonlyArray<string>
}

/**
 * Copies what the finished steps of `plan` left in its folder into `results`, at the same
 * relative paths, and writes the best checkpoint of every finished main-group run into `models`
 * (null: none). A step is finished when its folder holds its summary.json (a run) or its outputs
 * (any other step); the rest is left for a later sitting.
 */
export const exportResults = (plan: PaperPlan, results: string, models: string | null) =>
  Effect.gen(function* () {
    const root = plan.spec.out
    const copied: string[] = []
    const written: string[] = []
    for (const step of plan.steps) {
      if (step.kind === "train") {
        const dir = step.request.out
        if (!existsSync(join(dir, "summary.json"))) continue
        copyTree(dir, join(results, relative(root, dir)), copied)
        if (models !== null && step.group === "main" && existsSync(join(dir, bestCheckpointFile)))
          written.push(yield* exportWeights(dir, join(models, modelFileName(step))))
      } else if (step.kind !== "patch-build" && step.outputs.every((f) => existsSync(join(step.out, f)))) {
        copyTree(step.out, join(results, relative(root, step.out)), copied)
      }
    }
    return { copied, models: written } satisfies ExportOutcome
  })
