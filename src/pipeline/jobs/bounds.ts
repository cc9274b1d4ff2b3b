/**
 * What a worker takes on: limits its own options set (--max-epochs, --max-payload-bytes,
 * --max-arg-length), checked on the payload before anything runs, and the names the file system
 * cannot hold, named as such rather than as a path that "leads outside".
 */
import { Effect } from "effect"
import { lstat, readlink, stat } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import type { RunJob } from "./job.js"

export interface JobLimits {
  /** The most epochs a job may ask for. */
  readonly maxEpochs: number
  /** The most bytes a job's payload (its JSON in Redis) may hold. */
  readonly maxPayloadBytes: number
  /** The most characters one argument of a job may hold. */
  readonly maxArgLength: number
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxEpochs: 10_000, maxPayloadBytes: 65_536, maxArgLength: 4096 }

/** Linux refuses to start a process with one argument longer than this (MAX_ARG_STRLEN): spawn fails with E2BIG. */
export const MAX_ARG_STRLEN = 131_072

/** A file name longer than this many bytes cannot be made (NAME_MAX on Linux, macOS and Windows' NTFS alike). */
export const NAME_MAX = 255

/** A path longer than this many bytes cannot be used (PATH_MAX on Linux). */
export const PATH_MAX = 4096

/** The job's fields against the limits: the first one beyond them, as field and problem; null: within. */
export const boundsProblem = (
  job: RunJob,
  limits: JobLimits
): { readonly field: string; readonly problem: string } | null => {
  if (job.expected.epochs > limits.maxEpochs) {
    return {
      field: "expected.epochs",
      problem: `${job.expected.epochs} epochs is more than this worker takes (--max-epochs ${limits.maxEpochs})`
    }
  }
  for (let i = 0; i < job.args.length; i++) {
    const word = job.args[i]
    if (word.length > limits.maxArgLength) {
      return {
        field: `args[${i}]`,
        problem: `it holds ${word.length} characters, more than this worker takes in one argument (--max-arg-length ${limits.maxArgLength})`
      }
    }
    const eq = word.startsWith("--") ? word.indexOf("=") : -1
    const flag = eq > 0 ? word.slice(0, eq) : word
    if (flag === "--epochs") {
      const value = Number(eq > 0 ? word.slice(eq + 1) : job.args[i + 1])
      if (value > limits.maxEpochs)
        return {
          field: `args (--epochs)`,
          problem: `${value} epochs is more than this worker takes (--max-epochs ${limits.maxEpochs})`
        }
    }
  }
  return null
}

/** Why a path (relative to `base`, or absolute) cannot be a file's name: a part or the whole too long; null: none. */
export const nameProblem = (path: string): string | null => {
  if (Buffer.byteLength(path) > PATH_MAX)
    return `it is ${Buffer.byteLength(path)} bytes long, more than the ${PATH_MAX} a path may have`
  for (const part of path.split(/[/\\]/)) {
    const bytes = Buffer.byteLength(part)
    if (bytes > NAME_MAX)
      return `its part "${part.slice(0, 24)}…" is ${bytes} bytes long, more than the ${NAME_MAX} a file or folder name may have`
  }
  return null
}

/**
 * A link on the way from `base` to `path` (absolute, under base lexically) whose target does not
 * exist: the path would seem to lie where the link is, and then fail as a run. Null: none.
 */
export const danglingLink = (
  base: string,
  path: string
): Effect.Effect<{ readonly link: string; readonly target: string } | null> =>
  Effect.promise(async () => {
    const rel = relative(base, path)
    if (rel === "" || rel.startsWith("..")) return null
    let at = base
    for (const part of rel.split(sep)) {
      at = join(at, part)
      const info = await lstat(at).catch(() => null)
      if (info === null) return null
      if (!info.isSymbolicLink()) continue
      if (
        !(await stat(at).then(
          () => true,
          () => false
        ))
      )
        return { link: at, target: await readlink(at).catch(() => "?") }
    }
    return null
  })
