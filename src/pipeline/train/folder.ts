import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constants } from "node:fs"
import { access, readFile, stat } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { firstDifference } from "../../data/first-difference.js"
import { WriteError } from "../../data/write-error.js"
import { decodeSettings, type ModelSettings } from "../../models/settings.js"
import { RunFolderTakenError } from "../errors.js"
import { lastCheckpointFile } from "./layout.js"

/**
 * Checks that `out` can become a run folder before any work starts: no regular file on its path
 * and a writable folder to create it in. Whether a run already there may be replaced is
 * claimRunFolder's to say, once the run is known.
 */
export const checkOutputFolder = (out: string): Effect.Effect<void, WriteError> =>
  Effect.gen(function* () {
    const target = resolve(out)
    let dir = target
    for (;;) {
      const info = yield* Effect.promise(() =>
        stat(dir).then(
          (s) => s,
          () => null
        )
      )
      if (info !== null) {
        if (!info.isDirectory()) {
          return yield* Effect.fail(
            new WriteError({
              path: out,
              problem:
                dir === target ? "it is a file, not a folder" : `a part of the path, ${dir}, is a file, not a folder`
            })
          )
        }
        break
      }
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
    const writable = yield* Effect.promise(() =>
      access(dir, constants.W_OK).then(
        () => true,
        () => false
      )
    )
    if (!writable)
      return yield* Effect.fail(
        new WriteError({ path: out, problem: `the folder ${dir} is not writable (permission denied)` })
      )
  })

/** What a run is, as its checkpoints and summary record it: what tells one run from another. */
export interface RunIdentity {
  readonly model: string
  readonly seed: number
  /** The total planned. */
  readonly epochs: number
  readonly settings: ModelSettings
  /** The facts about the data and the command the run records (LoopOptions.describe). */
  readonly describe: Readonly<Record<string, unknown>>
}

/** The run a folder holds, from its last.safetensors, else its summary.json; null: no run there. */
interface Occupant {
  /** The run in words: model, seed, epochs, λ and how far it went. */
  readonly run: string
  /** null: its files cannot be read, for the reason in `unreadable`. */
  readonly identity: RunIdentity | null
  readonly unreadable: string | null
  readonly resumable: boolean
}

const describeOccupant = (model: unknown, seed: unknown, epochs: unknown, lambda: unknown, state: string): string =>
  `${String(model)}, seed ${String(seed)}, ${String(epochs)} epochs, λ ${String(lambda)}, ${state}`

const readOccupant = (out: string): Effect.Effect<Occupant | null> =>
  Effect.gen(function* () {
    const lastPath = join(out, lastCheckpointFile)
    const summaryText = yield* Effect.promise(() => readFile(join(out, "summary.json"), "utf8").catch(() => null))
    const hasLast = yield* Effect.promise(() =>
      stat(lastPath).then(
        () => true,
        () => false
      )
    )
    if (!hasLast && summaryText === null) return null
    if (hasLast) {
      // Imported here: checkpoints load TensorFlow.js, which the command line's help does without.
      const { readCheckpoint } = yield* Effect.promise(() => import("./checkpoint.js"))
      const read = yield* Effect.either(readCheckpoint(lastPath))
      if (read._tag === "Left")
        return {
          run: `${lastCheckpointFile} that cannot be read`,
          identity: null,
          unreadable: `its ${lastCheckpointFile} cannot be read (${read.left.problem}), so whose run it is cannot be told`,
          resumable: false
        }
      const { model, settings, progress } = read.right
      if (progress === undefined)
        return {
          run: `${model}, written by a version that records no run state`,
          identity: null,
          unreadable: `its ${lastCheckpointFile} records no seed or data, so whose run it is cannot be told`,
          resumable: false
        }
      const finished = summaryText !== null && progress.next.epoch >= progress.epochs
      const state = finished
        ? "finished"
        : `stopped after ${progress.next.epoch} epochs${progress.next.batch > 0 ? ` and ${progress.next.batch} batches` : ""}`
      return {
        run: describeOccupant(model, progress.seed, progress.epochs, settings.lambda, state),
        identity: { model, seed: progress.seed, epochs: progress.epochs, settings, describe: progress.describe },
        unreadable: null,
        resumable: true
      }
    }
    let summary: {
      model?: unknown
      seed?: unknown
      epochs?: unknown
      settings?: unknown
      data?: Record<string, unknown>
    }
    try {
      summary = JSON.parse(summaryText!)
    } catch (e) {
      return {
        run: "a summary.json that does not parse",
        identity: null,
        unreadable: `its summary.json does not parse (${e instanceof Error ? e.message : String(e)}), so whose run it is cannot be told`,
        resumable: false
      }
    }
    const settings = Either.getOrNull(decodeSettings(summary.settings))
    const run = describeOccupant(
      summary.model,
      summary.seed,
      summary.epochs,
      settings?.lambda,
      `finished, without its ${lastCheckpointFile}`
    )
    if (
      settings === null ||
      typeof summary.model !== "string" ||
      typeof summary.seed !== "number" ||
      typeof summary.epochs !== "number"
    ) {
      return {
        run,
        identity: null,
        unreadable:
          "its summary.json does not record a whole run (model, seed, epochs, settings), so whose run it is cannot be told",
        resumable: false
      }
    }
    // The summary's data holds the run's description beside the split sizes.
    const data = summary.data ?? {}
    return {
      run,
      identity: { model: summary.model, seed: summary.seed, epochs: summary.epochs, settings, describe: data },
      unreadable: null,
      resumable: false
    }
  })

/** JSON's view of a value: what a checkpoint or summary holds of it once written and read back. */
const asStored = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)))

/** Where the run in a folder differs from `wanted`; undefined: it is the very run asked for. */
const identityDifference = (wanted: RunIdentity, found: RunIdentity): string | undefined => {
  const describe = asStored(wanted.describe) as Record<string, unknown>
  // A summary's data also holds the split sizes, which the run asked for does not state.
  const foundDescribe = Object.fromEntries(
    Object.keys({ ...describe, ...found.describe })
      .filter((k) => k in describe || !["train", "val", "test"].includes(k))
      .map((k) => [k, found.describe[k]])
  )
  return firstDifference(
    {
      model: wanted.model,
      seed: wanted.seed,
      epochs: wanted.epochs,
      settings: asStored(wanted.settings),
      data: describe
    },
    {
      model: found.model,
      seed: found.seed,
      epochs: found.epochs,
      settings: asStored(found.settings),
      data: foundDescribe
    }
  )
}

/**
 * A run folder claimed for a fresh start of `wanted`: empty or new, or holding the very run
 * asked for (the same model, seed, epochs, settings and data, started again from epoch 1). A
 * folder that holds another run, or files whose run cannot be told, is refused, naming the folder,
 * that run and what differs, unless `overwrite` says to replace it. A run folder is never shared.
 */
export const claimRunFolder = (
  out: string,
  wanted: RunIdentity,
  overwrite: boolean
): Effect.Effect<void, RunFolderTakenError> =>
  Effect.gen(function* () {
    const found = yield* readOccupant(out)
    if (found === null) return
    const differs = found.identity === null ? found.unreadable! : identityDifference(wanted, found.identity)
    if (differs === undefined) {
      yield* Effect.logInfo(
        `${out} holds this very run (${found.run}); it starts again from epoch 1${found.resumable ? ` (to continue it instead: --resume ${out})` : ""}`
      )
      return
    }
    const taken = new RunFolderTakenError({
      folder: out,
      run: found.run,
      differs,
      resumable: found.resumable && found.identity !== null
    })
    if (!overwrite) return yield* Effect.fail(taken)
    yield* Effect.logWarning(`replacing the run in ${out} (${found.run}; ${differs}), as overwrite asks`)
  })
