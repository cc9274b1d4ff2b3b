/**
 * Reading a labelled image folder (one subfolder per class): rows and labels, and a typed error
 * naming the folder and the fix for each layout it cannot read.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readLabelledFolder } from "../../src/data/labelled-folder.js"
import { labelledClasses, writeGrayPng, writeLabelledFolder } from "../helpers/labelled-images.js"

const root = mkdtempSync(join(tmpdir(), "labelled-folder-"))

const folder = (name: string) => {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

const refusal = (dir: string, size?: number) =>
  Effect.flip(readLabelledFolder(dir, size === undefined ? undefined : { height: size, width: size })).pipe(
    Effect.map((e) => ({ tag: e._tag, message: e.message }))
  )

describe("a labelled image folder", () => {
  it.effect("reads every class's images as rows, labelled by the sorted order of the class folders", () =>
    Effect.gen(function* () {
      const dir = writeLabelledFolder(join(root, "ok"), 4, 8)
      // A file beside the class folders is not a class.
      writeFileSync(join(dir, "README.txt"), "three classes")
      const read = yield* readLabelledFolder(dir)
      expect(read.classes).toEqual(labelledClasses)
      expect([read.rows, read.height, read.width]).toEqual([12, 8, 8])
      expect([...read.labels]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
      expect(read.paths[4]).toBe(join(dir, labelledClasses[1], "000.png"))
      expect(read.x.length).toBe(12 * 64)
      expect(read.x.every((v) => v >= 0 && v <= 1)).toBe(true)
    })
  )

  it.effect("a folder with no class subfolders: names the folder and the layout", () =>
    Effect.gen(function* () {
      const dir = folder("flat")
      writeGrayPng(join(dir, "a.png"), new Float32Array(16).fill(0.5), 4, 4)
      expect(yield* refusal(dir)).toEqual({
        tag: "LabelledFolderError",
        message: `labelled image folder ${dir}: it has no class subfolders; put each class's images in a subfolder of its own (FOLDER/CLASS/IMAGE.png)`
      })
      const one = folder("one-class")
      mkdirSync(join(one, "only"))
      writeGrayPng(join(one, "only", "a.png"), new Float32Array(16), 4, 4)
      expect((yield* refusal(one)).message).toBe(
        `labelled image folder ${one}: it has one class subfolder (only), and classification needs two or more; put each class's images in a subfolder of its own (FOLDER/CLASS/IMAGE.png)`
      )
      const missing = join(root, "not-there")
      expect((yield* refusal(missing)).message).toBe(
        `labelled image folder ${missing}: it does not exist; pass a folder with one subfolder of images per class`
      )
    })
  )

  it.effect("an empty class: names the class folder and the fix", () =>
    Effect.gen(function* () {
      const dir = writeLabelledFolder(join(root, "empty-class"), 2, 4)
      mkdirSync(join(dir, "ghost"))
      writeFileSync(join(dir, "ghost", "notes.txt"), "no images here")
      expect(yield* refusal(dir)).toEqual({
        tag: "LabelledFolderError",
        message: `labelled image folder ${join(dir, "ghost")}: the class ghost holds no JPEG or PNG images; add its images, or remove the empty folder`
      })
    })
  )

  it.effect("images of mixed sizes: names both files and --size; with a size they are all resized", () =>
    Effect.gen(function* () {
      const dir = writeLabelledFolder(join(root, "mixed"), 2, 8)
      const odd = join(dir, labelledClasses[2], "big.png")
      writeGrayPng(odd, new Float32Array(12 * 10).fill(0.3), 12, 10)
      const first = join(dir, labelledClasses[0], "000.png")
      expect(yield* refusal(dir)).toEqual({
        tag: "LabelledFolderError",
        message: `labelled image folder ${dir}: ${odd} is 12×10 but ${first} is 8×8; every image must have one size, or give a size (--size N) to resize them all to N×N`
      })
      const resized = yield* readLabelledFolder(dir, { height: 6, width: 6 })
      expect([resized.rows, resized.height, resized.width]).toEqual([7, 6, 6])
    })
  )
})
