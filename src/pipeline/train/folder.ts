import { Effect } from "effect"
import { constants } from "node:fs"
import { access, stat } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { WriteError } from "../../data/write-error.js"
import { lastCheckpointFile } from "./layout.js"

/**
 * Checks that `out` can become a run folder before any work starts: no regular file on its path
 * and a writable folder to create it in. Says whether a run is there already, which a new run
 * replaces (sweeps rerun into the same folder on purpose).
 */
export const checkOutputFolder = (out: string): Effect.Effect<{ readonly holdsRun: boolean }, WriteError> =>
  Effect.gen(function* () {
    const target = resolve(out)
    let dir = target
    for (;;) {
      const info = yield* Effect.promise(() => stat(dir).then((s) => s, () => null))
      if (info !== null) {
        if (!info.isDirectory()) {
          return yield* Effect.fail(new WriteError({ path: out, problem: dir === target ? "it is a file, not a folder" : `a part of the path, ${dir}, is a file, not a folder` }))
        }
        break
      }
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
    const writable = yield* Effect.promise(() => access(dir, constants.W_OK).then(() => true, () => false))
    if (!writable) return yield* Effect.fail(new WriteError({ path: out, problem: `the folder ${dir} is not writable (permission denied)` }))
    const holdsRun = yield* Effect.promise(() => stat(join(target, lastCheckpointFile)).then(() => true, () => false))
    return { holdsRun }
  })
