import { describe, expect, it } from "@effect/vitest"
import { Field, FixedSizeList, Float64, makeData, makeVector, Table, tableToIPC } from "apache-arrow"
import { Effect, Either, Exit, Scope } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openPatchWriter, type PatchRows, readPatchFile } from "../../src/data/patch-file.js"
import { tableToArrowIpc } from "../../src/data/table.js"

const dim = 784
const dir = mkdtempSync(join(tmpdir(), "patch-file-"))

const rows = (count: number, first: number): PatchRows => ({
  count,
  patch: Float32Array.from({ length: count * dim }, (_, i) => first + i / dim),
  mean: Float32Array.from({ length: count * dim }, (_, i) => -(first + i / dim)),
  scale: new Float32Array(count * dim).fill(0.25),
  source: Array.from({ length: count }, (_, i) => `photos/${first + i}.jpg`),
  top: Int32Array.from({ length: count }, (_, i) => first + i),
  left: Int32Array.from({ length: count }, (_, i) => 2 * (first + i)),
  split: Array.from({ length: count }, (_, i) => (["train", "val", "test"] as const)[(first + i) % 3])
})

const write = (path: string, batches: PatchRows[], metadata: Record<string, string> = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const w = yield* openPatchWriter(path, dim, metadata)
      for (const b of batches) yield* w.append(b)
      yield* w.commit
    })
  )

const failure = <A, E extends { message: string }>(e: Effect.Effect<A, E>) =>
  Effect.either(e).pipe(Effect.map((r) => (Either.isLeft(r) ? r.left.message : "no error")))

describe("patch files", () => {
  it.effect("write batch by batch and read back grouped by split, with the metadata", () =>
    Effect.gen(function* () {
      const path = join(dir, "round-trip.arrow")
      yield* write(path, [rows(4, 0), rows(3, 4), rows(0, 7)], { seed: "7", "rows.train": "3" })
      const file = yield* readPatchFile(path)
      expect(file.dim).toBe(784)
      expect(file.size).toBe(28)
      expect(file.metadata).toMatchObject({ seed: "7", "rows.train": "3" })
      const train = file.splits.train
      expect(train.rows).toBe(3)
      expect(train.source).toEqual(["photos/0.jpg", "photos/3.jpg", "photos/6.jpg"])
      expect([...train.top]).toEqual([0, 3, 6])
      expect([...train.left]).toEqual([0, 6, 12])
      expect(train.patch[dim]).toBe(3)
      expect(train.mean[2 * dim + 1]).toBeCloseTo(-(6 + 1 / dim), 5)
      expect(train.patch.length).toBe(3 * dim)
      expect(file.splits.val.source).toEqual(["photos/1.jpg", "photos/4.jpg"])
      expect(file.splits.test.rows).toBe(2)
    })
  )

  it.effect("leaves nothing at the path, nor a temp file, when the scope closes without commit", () =>
    Effect.gen(function* () {
      const folder = mkdtempSync(join(tmpdir(), "patch-abort-"))
      const path = join(folder, "aborted.arrow")
      writeFileSync(path, "the previous file")
      const scope = yield* Scope.make()
      const w = yield* openPatchWriter(path, dim).pipe(Scope.extend(scope))
      yield* w.append(rows(5, 0))
      expect(readdirSync(folder).some((n) => n.includes(".tmp-"))).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(readFileSync(path, "utf8")).toBe("the previous file")
      expect(readdirSync(folder)).toEqual(["aborted.arrow"])
    })
  )

  it.effect("refuses a file with the wrong schema, naming the column and the fix", () =>
    Effect.gen(function* () {
      const metrics = join(dir, "metrics.arrow")
      writeFileSync(metrics, tableToArrowIpc([{ epoch: 1, psnr: 20 }]))
      const m = yield* failure(readPatchFile(metrics))
      expect(m).toContain(
        `patch file ${metrics}: it is not a patch file: it has no column "patch" (its columns: "epoch", "psnr")`
      )
      expect(m).toContain("npx tsx experiments/patches.ts build")

      // Right names, but float64 patches.
      const f64 = new FixedSizeList(dim, new Field("item", new Float64(), false))
      const data = makeData({
        type: f64,
        length: 1,
        nullCount: 0,
        child: makeData({ type: new Float64(), length: dim, data: new Float64Array(dim) })
      })
      const wrong = join(dir, "float64.arrow")
      writeFileSync(wrong, tableToIPC(new Table({ patch: makeVector(data) }), "file"))
      const w = yield* failure(readPatchFile(wrong))
      expect(w).toContain('column "patch" is FixedSizeList[784]<Float64>, expected FixedSizeList[784]<Float32>')
    })
  )

  it.effect("says when the file is missing or is not Arrow at all", () =>
    Effect.gen(function* () {
      const missing = yield* failure(readPatchFile(join(dir, "nope.arrow")))
      expect(missing).toMatch(/nope\.arrow: it does not exist; build one with `npx tsx experiments\/patches\.ts build/)
      const text = join(dir, "text.arrow")
      writeFileSync(text, "patch,mean,scale\n1,2,3\n")
      expect(yield* failure(readPatchFile(text))).toMatch(/text\.arrow: it is not an Arrow IPC file/)
      const cut = join(dir, "cut.arrow")
      const whole = readFileSync(join(dir, "round-trip.arrow"))
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)))
      expect(yield* failure(readPatchFile(cut))).toMatch(/cut\.arrow: it (is not an Arrow IPC file|could not be read)/)
      expect(existsSync(cut)).toBe(true)
    })
  )
})
