/** A trained model's checkpoint, found from a run folder or a file, with the input space it was trained on. */
import { Effect } from "effect"
import { stat } from "node:fs/promises"
import { join } from "node:path"
import { readCheckpoint, type Snapshot } from "../train/checkpoint.js"
import type { CheckpointError } from "../errors.js"
import type { InputSpace } from "../sources/normalization.js"
import { bestCheckpointFile } from "../train/layout.js"
import { LoadModelError } from "./errors.js"
import { resolveInputSpace } from "./input-space.js"

/** A run folder stands for its best epoch's checkpoint. */
const checkpointPath = (path: string): Effect.Effect<string, LoadModelError> =>
  Effect.gen(function* () {
    const info = yield* Effect.promise(() =>
      stat(path).then(
        (s) => s,
        () => null
      )
    )
    if (info === null)
      return yield* Effect.fail(
        new LoadModelError({ path, problem: "it does not exist; pass a run folder or a .safetensors checkpoint" })
      )
    if (!info.isDirectory()) return path
    const file = join(path, bestCheckpointFile)
    const found = yield* Effect.promise(() =>
      stat(file).then(
        () => true,
        () => false
      )
    )
    return found
      ? file
      : yield* Effect.fail(
          new LoadModelError({
            path,
            problem: `the folder has no ${bestCheckpointFile}: it is not a run folder, or its run has not finished an epoch`
          })
        )
  })

export interface ModelCheckpoint {
  readonly file: string
  readonly snapshot: Snapshot
  readonly input: InputSpace
}

/**
 * The checkpoint of a run folder (checkpoint.safetensors, the best epoch) or a checkpoint file,
 * and its input space: `input` when given, else the one it records, else the one its run implies
 * (see resolveInputSpace), which is logged as a warning.
 */
export const readModelCheckpoint = (
  path: string,
  input?: InputSpace
): Effect.Effect<ModelCheckpoint, LoadModelError | CheckpointError> =>
  Effect.gen(function* () {
    const file = yield* checkpointPath(path)
    const snapshot = yield* readCheckpoint(file)
    const { space, assumed } = yield* resolveInputSpace(snapshot, file, input)
    if (assumed !== null) yield* Effect.logWarning(`${file} does not record its input space; using ${assumed}`)
    return { file, snapshot, input: space }
  })
