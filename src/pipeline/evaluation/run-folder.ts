import type { FileSystem } from "@effect/platform"
import { Effect, Either, Option, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { basename, join, resolve } from "node:path"
import type { DataSourceError, IdxFormatError } from "../../data/errors.js"
import { type ModelSettings, StoredSettings } from "../../models/settings.js"
import type { Backend } from "../backend/backend.js"
import { describeShape, readCheckpoint, restoreSnapshot } from "../train/checkpoint.js"
import { CheckpointError } from "../errors.js"
import { type Dataset, mapSplits, type Splits } from "../sources/dataset.js"
import { loadMnist, type MnistSource, normalizeMnistStage, splitStage } from "../sources/mnist.js"
import { loadSource, type SourceLoadError } from "../sources/registry.js"
import { RecordedSource } from "../sources/source.js"
import { scopedModel } from "../backend/resources.js"
import { rngFor } from "../train/seeds.js"
import type { PatchFileError } from "../../data/patch-file.js"
import { loadPatchSplits } from "../patches/datasets.js"
import type { PatchDataError } from "../patches/errors.js"
import { RunFolderReadError } from "./errors.js"

/** The parts of summary.json an evaluation relies on; the rest is kept as read, for reports. */
const SummaryFields = Schema.Struct({
  model: Schema.String,
  seed: Schema.Number,
  settings: StoredSettings,
  data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

/** A trained run's folder as written by the training pipeline (summary.json, checkpoint.safetensors, ...). */
export interface RunFolder {
  /** Absolute path: what tables record, so results can be matched to runs later. */
  readonly dir: string
  /** Short label for tables and plots: the folder's name, made unique among the runs compared. */
  readonly name: string
  readonly model: string
  readonly seed: number
  readonly settings: ModelSettings
  /** summary.json as read. */
  readonly summary: Readonly<Record<string, unknown>>
}

const readJson = (folder: string, file: string) =>
  Effect.tryPromise({
    try: async () => JSON.parse(await readFile(join(folder, file), "utf8")) as unknown,
    catch: (e) =>
      new RunFolderReadError({
        folder,
        problem: `${file} cannot be read (${e instanceof Error ? e.message : String(e)}); is this the folder of a training run, and has the run finished?`
      })
  })

export const readRunFolder = (dir: string): Effect.Effect<RunFolder, RunFolderReadError> =>
  Effect.gen(function* () {
    const folder = resolve(dir)
    const raw = yield* readJson(folder, "summary.json")
    const fields = Schema.decodeUnknownEither(SummaryFields)(raw)
    if (Either.isLeft(fields)) {
      return yield* Effect.fail(
        new RunFolderReadError({
          folder,
          problem: `summary.json lacks the model, seed or settings of the run (${fields.left.message.split("\n")[0]})`
        })
      )
    }
    const summary = raw as Record<string, unknown>
    return {
      dir: folder,
      name: basename(folder),
      model: fields.right.model,
      seed: fields.right.seed,
      settings: fields.right.settings,
      summary
    }
  })

/** Several run folders; two with the same folder name get their parent's name in front. */
export const readRunFolders = (dirs: ReadonlyArray<string>) =>
  Effect.forEach(dirs, readRunFolder).pipe(
    Effect.map((runs) => {
      const seen = new Map<string, number>()
      for (const r of runs) seen.set(r.name, (seen.get(r.name) ?? 0) + 1)
      return runs.map((r) =>
        (seen.get(r.name) ?? 0) > 1 ? { ...r, name: `${basename(join(r.dir, ".."))}/${r.name}` } : r
      )
    })
  )

/** The run's best-epoch model, released with the scope. */
export const runModel = (
  run: RunFolder
): Effect.Effect<
  import("../../models/model.js").SparseCodingModel,
  CheckpointError,
  import("effect").Scope.Scope | Backend
> =>
  Effect.gen(function* () {
    const file = join(run.dir, "checkpoint.safetensors")
    const snapshot = yield* readCheckpoint(file)
    // A checkpoint that loads is self-consistent, but it must also be this run's: evaluations are labelled with the summary's model and settings.
    const shape = (model: string, s: Pick<ModelSettings, "codeDim" | "hidden" | "listaSteps">) =>
      `${model}, ${describeShape(s)}, ${s.listaSteps} LISTA steps`
    if (shape(snapshot.model, snapshot.settings) !== shape(run.model, run.settings)) {
      return yield* Effect.fail(
        new CheckpointError({
          file,
          problem: `it is a checkpoint of ${shape(snapshot.model, snapshot.settings)}, but the run's summary.json describes ${shape(run.model, run.settings)}: it is not this run's checkpoint. Put back the run's own checkpoint.safetensors, or evaluate the run it belongs to`
        })
      )
    }
    // The initialisation is overwritten at once; its seed does not matter.
    const model = yield* scopedModel(snapshot.settings, snapshot.inputDim, rngFor(0, "init"), undefined, snapshot.input)
    yield* restoreSnapshot(model, snapshot, file)
    return model
  })

/** What the person running an evaluation may say about where the data is now. */
export interface DataOptions {
  /** A folder of MNIST IDX files that replaces the one the run recorded (moved, or another machine). */
  readonly mnistDir?: string
  /** A patch file that replaces the one a patch run recorded. */
  readonly patchFile?: string
  /** The data (folder or file) that replaces the one a run of a registered source recorded. */
  readonly data?: string
}

export type DataLoadError =
  | RunFolderReadError
  | DataSourceError
  | IdxFormatError
  | PatchFileError
  | PatchDataError
  | SourceLoadError

/**
 * Rebuilds a run's data from what its summary records, or answers None when the run's data is
 * not of its kind. MNIST is the one kind now; natural-image patches will add theirs to the list
 * given to `runData`, and everything downstream needs only a Dataset with its toPixels.
 */
export interface DataResolver {
  readonly kind: string
  readonly resolve: (run: RunFolder, options: DataOptions) => Option.Option<DataRecipe>
}

/** How to load a run's data, with a key that is equal for runs whose data is the same. */
export interface DataRecipe {
  readonly key: string
  readonly describe: string
  readonly load: Effect.Effect<Splits<Dataset>, DataLoadError, FileSystem.FileSystem>
}

const recordedMnist = (run: RunFolder): MnistSource | null => {
  const data = run.summary.data as Record<string, unknown> | undefined
  const source = data?.mnist as MnistSource | undefined
  return source !== undefined && typeof source === "object" && "kind" in source ? source : null
}

/** MNIST: the recorded (or given) source, split with the run's seed: the run's own validation set. */
export const mnistResolver: DataResolver = {
  kind: "mnist",
  resolve: (run, options) => {
    const recorded = recordedMnist(run)
    if (options.mnistDir === undefined && recorded === null) return Option.none()
    const source: MnistSource =
      options.mnistDir !== undefined ? { kind: "dir", dir: resolve(options.mnistDir) } : (recorded as MnistSource)
    const where = source.kind === "dir" ? `folder ${source.dir}` : source.kind
    return Option.some({
      key: JSON.stringify({ kind: "mnist", source, seed: run.seed }),
      describe: `MNIST from ${where}, split with seed ${run.seed}`,
      // The training part is the whole training split, whatever --train-size the run was trained with.
      load: loadMnist(source).pipe(
        Effect.map((data) => mapSplits(splitStage(run.seed)(data), (s, name) => normalizeMnistStage(name)(s)))
      )
    })
  }
}

/** Natural-image patches: the patch file the run recorded (or the one given), its LCN undone per row. */
export const patchResolver: DataResolver = {
  kind: "patches",
  resolve: (run, options) => {
    const data = run.summary.data as Record<string, unknown> | undefined
    const recorded = typeof data?.patchFile === "string" ? data.patchFile : null
    if (recorded === null) return Option.none()
    const file = resolve(options.patchFile ?? recorded)
    return Option.some({
      key: JSON.stringify({ kind: "patches", file }),
      describe: `patches from ${file}`,
      load: loadPatchSplits(file).pipe(Effect.map(({ splits }) => splits))
    })
  }
}

/**
 * A registered source (src/pipeline/sources/registry.ts): the source and request the run recorded,
 * loaded again with the whole training split, whatever trainSize the run was trained with.
 */
export const sourceResolver: DataResolver = {
  kind: "source",
  resolve: (run, options) => {
    const data = run.summary.data as Record<string, unknown> | undefined
    const recorded = Schema.decodeUnknownOption(RecordedSource)(data?.dataSource)
    if (Option.isNone(recorded)) return Option.none()
    const {
      name,
      request: { trainSize: _, ...request }
    } = recorded.value
    const where = options.data !== undefined ? { ...request, data: resolve(options.data) } : request
    return Option.some({
      key: JSON.stringify({ kind: "source", name, request: where }),
      describe: `${name} from ${where.data ?? "its default"}, split with seed ${where.seed}`,
      load: loadSource(name, where).pipe(Effect.map((loaded) => loaded.splits))
    })
  }
}

export const defaultResolvers: ReadonlyArray<DataResolver> = [sourceResolver, patchResolver, mnistResolver]

export const dataRecipe = (
  run: RunFolder,
  options: DataOptions,
  resolvers: ReadonlyArray<DataResolver> = defaultResolvers
): Effect.Effect<DataRecipe, RunFolderReadError> => {
  for (const r of resolvers) {
    const recipe = r.resolve(run, options)
    if (Option.isSome(recipe)) return Effect.succeed(recipe.value)
  }
  return Effect.fail(
    new RunFolderReadError({
      folder: run.dir,
      problem: `its summary.json does not say where its data came from (no data.dataSource, data.mnist or data.patchFile); pass --mnist-dir the MNIST folder it was trained on`
    })
  )
}

/**
 * Each run's data, loaded once per distinct recipe: runs trained on the same data with the same
 * split seed share one copy.
 */
export const loadRunsData = (
  runs: ReadonlyArray<RunFolder>,
  options: DataOptions,
  resolvers: ReadonlyArray<DataResolver> = defaultResolvers
) =>
  Effect.gen(function* () {
    const byKey = new Map<string, Splits<Dataset>>()
    const out: Array<{ readonly run: RunFolder; readonly recipe: DataRecipe; readonly data: Splits<Dataset> }> = []
    for (const run of runs) {
      const recipe = yield* dataRecipe(run, options, resolvers)
      let data = byKey.get(recipe.key)
      if (data === undefined) {
        yield* Effect.logInfo(`data for ${run.name}: ${recipe.describe}`)
        data = yield* recipe.load
        byKey.set(recipe.key, data)
      }
      out.push({ run, recipe, data })
    }
    return out
  })
