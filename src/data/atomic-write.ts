import { randomBytes } from "node:crypto"
import { mkdir, open, rename, rm, stat } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import { Effect, type Scope } from "effect"
import { WriteError } from "./write-error.js"

/** Translates Node's errno codes into words a person running an experiment can act on. */
const describe = (cause: unknown): string => {
  const code = (cause as { code?: unknown } | null)?.code
  switch (code) {
    case "ENOENT":
      return "the folder does not exist"
    case "ENOTDIR":
      return "a part of the path is a file, not a folder"
    case "EISDIR":
      return "the path is a folder"
    case "EEXIST":
      return "something already exists at that path"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EROFS":
      return "the file system is read-only"
    case "ENOSPC":
      return "the disk is full"
    case "EDQUOT":
      return "the disk quota is exhausted"
  }
  const text = cause instanceof Error ? cause.message : String(cause)
  return typeof code === "string" ? `${code} (${text})` : text
}

const attempt = <A>(path: string, step: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new WriteError({ path, problem: `${step}: ${describe(cause)}` })
  })

/**
 * Some platforms (Windows) and file systems refuse to open or fsync a folder;
 * there the rename is as durable as it can be made, so that refusal is not a failure.
 */
const UNSUPPORTED_DIR_SYNC = new Set(["EISDIR", "EPERM", "EACCES", "EINVAL", "ENOTSUP", "EBADF"])

const syncDir = (dir: string, path: string) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await open(dir, "r")
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    },
    catch: (cause) => cause
  }).pipe(
    Effect.catchAll((cause) => {
      const code = (cause as { code?: unknown } | null)?.code
      return typeof code === "string" && UNSUPPORTED_DIR_SYNC.has(code)
        ? Effect.void
        : Effect.fail(new WriteError({ path, problem: `syncing the folder ${dir}: ${describe(cause)}` }))
    })
  )

/** The temp file lives in the target's folder because rename is only atomic within one file system. */
const tempPathFor = (path: string) => {
  const target = resolve(path)
  const dir = dirname(target)
  // The name is cut short so that a target near the 255-byte name limit still gets a temp file.
  return {
    target,
    dir,
    temp: join(dir, `.${basename(target).slice(0, 80)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`)
  }
}

/**
 * Replaces `path` with `bytes` so that a reader (or a crash) sees either the
 * old file or the whole new one, never a torn write: long experiments write
 * their results at the end, and a half-written table would be silently wrong.
 *
 * On any failure the temp file is removed and the old target, if any, is
 * left as it was.
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array | string): Effect.Effect<void, WriteError> => {
  const { target, dir, temp } = tempPathFor(path)
  return Effect.gen(function* () {
    yield* Effect.acquireUseRelease(
      // "wx" so that a name clash with someone else's temp file fails instead of sharing it.
      attempt(path, "creating a temporary file", () => open(temp, "wx")),
      (handle) =>
        attempt(path, "writing", async () => {
          await handle.writeFile(bytes)
          await handle.sync()
        }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )
    yield* attempt(path, "replacing the file", () => rename(temp, target))
    // Without this the rename itself may not survive a power cut.
    yield* syncDir(dir, path)
  }).pipe(Effect.onError(() => Effect.promise(() => rm(temp, { force: true }).catch(() => undefined))))
}

const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code

/**
 * `mkdir -p` one folder at a time. Node's own recursive mkdir loops for ever where mkdir answers
 * ENOENT although the parent exists (it does under /proc), retrying the parent and the child in
 * turn; here each missing folder is made once, and a refusal is an error.
 */
const makeDirs = async (path: string): Promise<void> => {
  const missing: string[] = []
  for (let dir = resolve(path); ; ) {
    const info = await stat(dir).catch((e: unknown) => {
      if (codeOf(e) === "ENOENT") return null
      throw e
    })
    if (info !== null) {
      if (!info.isDirectory()) throw Object.assign(new Error(`${dir} is a file`), { code: "ENOTDIR" })
      break
    }
    missing.push(dir)
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  for (const dir of missing.reverse()) {
    await mkdir(dir).catch(async (e: unknown) => {
      if (codeOf(e) === "EEXIST" && (await stat(dir)).isDirectory()) return
      // The parent is there (it was found or just made): ENOENT means this file system takes no new folder.
      if (codeOf(e) === "ENOENT") throw new Error(`the file system of ${dirname(dir)} does not allow new folders`)
      throw e
    })
  }
}

/** Creates `path` and any missing parents; succeeds if it is already a folder. */
export const ensureDir = (path: string): Effect.Effect<void, WriteError> =>
  attempt(path, "creating the folder", () => makeDirs(path))

/** A file being written piece by piece that appears at its path only when committed. */
export interface AtomicFile {
  /** Appends bytes, in order; wait for one write before the next. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, WriteError>
  /** Flushes to disk and renames the temp file onto the path; writing after this is an error. */
  readonly commit: Effect.Effect<void, WriteError>
}

/**
 * The streaming form of writeFileAtomic, for outputs too large to hold in memory (a data set of
 * gigabytes): bytes go to a temp file beside `path`, and `commit` renames it into place. If the
 * scope closes first — a failure, an interruption such as Ctrl-C — the temp file is removed and
 * whatever was at `path` stays as it was, so a reader never sees a half file.
 */
export const openFileAtomic = (path: string): Effect.Effect<AtomicFile, WriteError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const { target, dir, temp } = tempPathFor(path)
      return attempt(path, "creating a temporary file", () => open(temp, "wx")).pipe(
        Effect.map((handle) => ({ handle, target, dir, temp, committed: false }))
      )
    }),
    (file) =>
      Effect.promise(async () => {
        await file.handle.close().catch(() => undefined)
        if (!file.committed) await rm(file.temp, { force: true }).catch(() => undefined)
      })
  ).pipe(
    Effect.map(
      (file): AtomicFile => ({
        write: (bytes) =>
          Effect.suspend(() =>
            file.committed
              ? Effect.dieMessage(`openFileAtomic: write to ${path} after commit`)
              : attempt(path, "writing", async () => {
                  let done = 0
                  while (done < bytes.byteLength)
                    done += (await file.handle.write(bytes, done, bytes.byteLength - done)).bytesWritten
                })
          ),
        commit: Effect.gen(function* () {
          yield* attempt(path, "writing", () => file.handle.sync())
          yield* attempt(path, "replacing the file", () => rename(file.temp, file.target))
          file.committed = true
          // Without this the rename itself may not survive a power cut.
          yield* syncDir(file.dir, path)
        })
      })
    )
  )
