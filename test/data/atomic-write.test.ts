import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { afterEach, beforeEach, vi } from "vitest"
import { Effect, Either } from "effect"
import { ensureDir, writeFileAtomic } from "../../src/data/atomic-write.js"
import { WriteError } from "../../src/data/write-error.js"

// Lets one test make rename fail after the temp file is fully written, the
// one failure that root (which ignores permissions) cannot provoke for real.
// Also lets mkdir answer ENOENT under a folder that exists, as /proc does.
const faults = vi.hoisted(() => ({
  rename: undefined as undefined | { code: string },
  mkdirEnoentUnder: undefined as undefined | string
}))
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>()
  return {
    ...real,
    mkdir: (path: string, options?: Parameters<typeof real.mkdir>[1]) => {
      const under = faults.mkdirEnoentUnder
      if (under !== undefined && path.startsWith(`${under}/`))
        return Promise.reject(Object.assign(new Error("ENOENT: injected"), { code: "ENOENT" }))
      return real.mkdir(path, options)
    },
    rename: (from: string, to: string) => {
      const fault = faults.rename
      if (fault === undefined) return real.rename(from, to)
      return Promise.reject(Object.assign(new Error(`${fault.code}: injected`), fault))
    }
  }
})

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "atomic-write-"))
  faults.rename = undefined
  faults.mkdirEnoentUnder = undefined
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const tempFilesIn = (folder: string) => readdirSync(folder).filter((name) => name.includes(".tmp-"))

describe("writeFileAtomic", () => {
  it.effect("writes a string and bytes, leaving no temp file", () =>
    Effect.gen(function* () {
      const text = join(dir, "notes.md")
      const bin = join(dir, "data.bin")
      yield* writeFileAtomic(text, "héllo\n")
      yield* writeFileAtomic(bin, new Uint8Array([0, 1, 2, 255]))
      expect(readFileSync(text, "utf8")).toBe("héllo\n")
      expect([...readFileSync(bin)]).toEqual([0, 1, 2, 255])
      expect(tempFilesIn(dir)).toEqual([])
    })
  )

  it.effect("replaces an existing file whole", () =>
    Effect.gen(function* () {
      const path = join(dir, "table.csv")
      writeFileSync(path, "a much longer old content that must not leave a tail\n")
      yield* writeFileAtomic(path, "new\n")
      expect(readFileSync(path, "utf8")).toBe("new\n")
      expect(tempFilesIn(dir)).toEqual([])
    })
  )

  it.effect("concurrent writers leave one complete version", () =>
    Effect.gen(function* () {
      const path = join(dir, "race.txt")
      const versions = Array.from({ length: 20 }, (_, i) => `${i}`.repeat(10_000 + i))
      yield* Effect.forEach(versions, (v) => writeFileAtomic(path, v), { concurrency: "unbounded" })
      expect(versions).toContain(readFileSync(path, "utf8"))
      expect(tempFilesIn(dir)).toEqual([])
    })
  )

  it.effect("copes with a name near the file-name length limit", () =>
    Effect.gen(function* () {
      const path = join(dir, "x".repeat(250))
      yield* writeFileAtomic(path, "ok")
      expect(readFileSync(path, "utf8")).toBe("ok")
      expect(tempFilesIn(dir)).toEqual([])
    })
  )

  it.effect("fails with a WriteError when the folder does not exist", () =>
    Effect.gen(function* () {
      const path = join(dir, "missing", "out.png")
      const error = yield* Effect.flip(writeFileAtomic(path, "x"))
      expect(error).toBeInstanceOf(WriteError)
      expect(error._tag).toBe("WriteError")
      expect(error.path).toBe(path)
      expect(error.problem).toContain("folder does not exist")
      expect(error.message).toContain(path)
      expect(error.message).toContain("--out")
      expect(readdirSync(dir)).toEqual([])
    })
  )

  it.effect("fails when the path is a folder, keeping the folder and removing the temp file", () =>
    Effect.gen(function* () {
      const path = join(dir, "runs")
      mkdirSync(path)
      writeFileSync(join(path, "keep.txt"), "kept")
      const error = yield* Effect.flip(writeFileAtomic(path, "x"))
      expect(error._tag).toBe("WriteError")
      expect(error.problem).toMatch(/replacing the file/)
      expect(statSync(path).isDirectory()).toBe(true)
      expect(readFileSync(join(path, "keep.txt"), "utf8")).toBe("kept")
      expect(tempFilesIn(dir)).toEqual([])
    })
  )

  it.effect("a failed replace leaves the old file intact and no temp file", () =>
    Effect.gen(function* () {
      const path = join(dir, "metrics.arrow")
      writeFileSync(path, "old")
      faults.rename = { code: "EIO" }
      const result = yield* Effect.either(writeFileAtomic(path, "new"))
      faults.rename = undefined
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(WriteError)
        expect(result.left.problem).toContain("EIO")
      }
      expect(readFileSync(path, "utf8")).toBe("old")
      expect(readdirSync(dir)).toEqual(["metrics.arrow"])
    })
  )

  it.effect("reports a full disk in words", () =>
    Effect.gen(function* () {
      faults.rename = { code: "ENOSPC" }
      const error = yield* Effect.flip(writeFileAtomic(join(dir, "a.txt"), "x"))
      expect(error.problem).toContain("disk is full")
    })
  )
})

describe("ensureDir", () => {
  it.effect("creates nested folders and accepts an existing one", () =>
    Effect.gen(function* () {
      const path = join(dir, "a", "b", "c")
      yield* ensureDir(path)
      yield* ensureDir(path)
      expect(statSync(path).isDirectory()).toBe(true)
    })
  )

  it.effect("fails with a WriteError when a file is in the way", () =>
    Effect.gen(function* () {
      const file = join(dir, "file")
      writeFileSync(file, "")
      const error = yield* Effect.flip(ensureDir(join(file, "sub")))
      expect(error._tag).toBe("WriteError")
      expect(error.problem).toContain("is a file, not a folder")
      const error2 = yield* Effect.flip(ensureDir(file))
      expect(error2._tag).toBe("WriteError")
    })
  )

  it.effect(
    "ends with a WriteError where mkdir answers ENOENT under a folder that exists (/proc), where Node's recursive mkdir loops for ever",
    () =>
      Effect.gen(function* () {
        faults.mkdirEnoentUnder = dir
        const error = yield* Effect.flip(
          ensureDir(join(dir, "run", "sub")).pipe(
            Effect.timeoutFail({
              duration: "5 seconds",
              onTimeout: () => new WriteError({ path: dir, problem: "hang" })
            })
          )
        )
        expect(error.message).toBe(
          `Could not write ${join(dir, "run", "sub")}: creating the folder: the file system of ${dir} does not allow new folders. Check that the folder exists and is writable, or pass another --out.`
        )
      })
  )
})
