/**
 * What a sitting leaves in the repository: the small artefacts of every finished step, copied
 * from the plan's folder into a results folder of the same layout (docs/results/paper), and each
 * main run's best checkpoint as weights only into models/. The report is built from the results
 * folder, so a later sitting on a fresh machine starts from what was committed.
 */
import { Effect } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { readArrowIpcTable, tableToArrowIpc } from "../../data/table.js"
import { encodeSnapshot, readCheckpoint, weightsOnlySnapshot } from "../train/checkpoint.js"
import { bestCheckpointFile } from "../train/layout.js"
import type { PaperPlan, TrainStep } from "./plan.js"

/** Files a results folder keeps: tables, summaries and pictures; never checkpoints, logs or stamps. */
const KEPT = /\.(json|csv|md|arrow|svg|png)$/
const DROPPED = /^(\.paper-|.*\.log$|.*\.safetensors$)/
/** A picture larger than this stays in the plan's folder (a multi-layer decoder's full column grid). */
const MAX_PICTURE_BYTES = 1024 * 1024

// An absolute path after a separator, not a URL's `//host` (an SVG's xmlns).
const ABSOLUTE_PATH = /(^|[\s"'(=,:[])(\/(?!\/)[^\s"',)|\]]+)/g

/**
 * The text with no folder of this machine: paths inside the plan's folder `root` relative to it
 * (the results folder has the same layout), any other absolute path cut to `.../` and its last
 * part (the MNIST folder in a run's summary, say).
 */
export const portablePaths = (text: string, root: string): string =>
  text
    .split(`${root}/`)
    .join("")
    .split(root)
    .join(".")
    .replace(ABSOLUTE_PATH, (_m, lead: string, path: string) => `${lead}.../${basename(path)}`)

/** A kept file's bytes with portable paths: text files rewritten, Arrow tables rewritten where a string cell holds a path. */
const portableFile = (source: string, root: string): Uint8Array | string => {
  const bytes = readFileSync(source)
  if (/\.(json|csv|md|svg)$/.test(source)) return portablePaths(bytes.toString("utf8"), root)
  if (!source.endsWith(".arrow")) return new Uint8Array(bytes)
  const table = readArrowIpcTable(new Uint8Array(bytes))
  let changed = false
  const rows = table.rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => {
        if (typeof v !== "string") return [k, v]
        const w = portablePaths(v, root)
        changed ||= w !== v
        return [k, w]
      })
    )
  )
  return changed ? tableToArrowIpc(rows, table.columns) : new Uint8Array(bytes)
}

/**
 * Copies the kept files under `from` to `to` with portable paths (portablePaths), each written
 * beside its place and renamed into it.
 */
const copyTree = (from: string, to: string, copied: string[], root: string): void => {
  if (!existsSync(from)) return
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name)
    if (entry.isDirectory()) {
      // columns/: a picture per epoch, 200 of them at the paper's length.
      if (entry.name !== "columns") copyTree(source, join(to, entry.name), copied, root)
      continue
    }
    if (!KEPT.test(entry.name) || DROPPED.test(entry.name)) continue
    if (entry.name.endsWith(".png") && statSync(source).size > MAX_PICTURE_BYTES) continue
    mkdirSync(to, { recursive: true })
    const target = join(to, entry.name)
    writeFileSync(`${target}.partial`, portableFile(source, root))
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
    yield* writeFileAtomic(file.replace(/\.safetensors$/, ".json"), `${JSON.stringify(card, null, 2)}\n`)
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
        copyTree(dir, join(results, relative(root, dir)), copied, root)
        if (models !== null && step.group === "main" && existsSync(join(dir, bestCheckpointFile)))
          written.push(yield* exportWeights(dir, join(models, modelFileName(step))))
      } else if (step.kind !== "patch-build" && step.outputs.every((f) => existsSync(join(step.out, f)))) {
        copyTree(step.out, join(results, relative(root, step.out)), copied, root)
      }
    }
    return { copied, models: written } satisfies ExportOutcome
  })
