import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { cropPixels, listImages, randomCropPosition, readGrayImage } from "../../src/data/images.js"
import { makeRng } from "../../src/data/random.js"
import { texture, writePhotos } from "../helpers/photos.js"

const maxDeviation = (values: Float32Array, target: number) =>
  values.reduce((m, v) => Math.max(m, Math.abs(v - target)), 0)

const dir = mkdtempSync(join(tmpdir(), "images-"))

describe("reading photos", () => {
  it.effect("resizes the shorter side to 256, landscape and portrait, PNG and JPEG", () =>
    Effect.gen(function* () {
      const [wide, tall] = yield* Effect.promise(() =>
        writePhotos(join(dir, "sizes"), [texture("wide.png", 100, 60, 1), texture("tall.jpg", 60, 100, 2)])
      )
      const a = yield* readGrayImage(wide)
      const b = yield* readGrayImage(tall)
      expect(a.height).toBe(256)
      expect(Math.abs(a.width - (100 * 256) / 60)).toBeLessThanOrEqual(1)
      expect(b.width).toBe(256)
      expect(Math.abs(b.height - (100 * 256) / 60)).toBeLessThanOrEqual(1)
      expect(a.pixels.length).toBe(a.width * a.height)
      for (const img of [a, b]) expect(maxDeviation(img.pixels, 0.5)).toBeLessThanOrEqual(0.5)
    })
  )

  it.effect("makes grey with the Rec. 601 luma, from RGB, RGBA and grey files", () =>
    Effect.gen(function* () {
      const rgb = join(dir, "orange.png")
      const rgba = join(dir, "orange-alpha.png")
      const grey = join(dir, "grey.png")
      yield* Effect.promise(() =>
        sharp({ create: { width: 300, height: 280, channels: 3, background: { r: 200, g: 100, b: 50 } } })
          .png()
          .toFile(rgb)
      )
      yield* Effect.promise(() =>
        sharp({ create: { width: 300, height: 280, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 1 } } })
          .png()
          .toFile(rgba)
      )
      yield* Effect.promise(() =>
        sharp({ create: { width: 300, height: 280, channels: 3, background: { r: 77, g: 77, b: 77 } } })
          .toColourspace("b-w")
          .png()
          .toFile(grey)
      )
      const luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
      for (const path of [rgb, rgba]) {
        const img = yield* readGrayImage(path)
        expect([img.width, img.height]).toEqual([274, 256])
        expect(maxDeviation(img.pixels, luma)).toBeLessThan(1e-5)
      }
      const g = yield* readGrayImage(grey)
      expect(maxDeviation(g.pixels, 77 / 255)).toBeLessThan(1e-5)
    })
  )

  it.effect("names an unreadable file and a folder without photos", () =>
    Effect.gen(function* () {
      const bad = join(dir, "broken.jpg")
      writeFileSync(bad, "not a jpeg at all")
      const e = yield* Effect.either(readGrayImage(bad))
      expect(Either.isLeft(e) && e.left.message).toMatch(/broken\.jpg.*not a readable JPEG or PNG/)
      const empty = mkdtempSync(join(tmpdir(), "no-photos-"))
      writeFileSync(join(empty, "notes.txt"), "hello")
      const l = yield* Effect.either(listImages(empty))
      expect(Either.isLeft(l) && l.left.message).toMatch(/holds no \.jpg, \.jpeg, \.png files/)
      const missing = yield* Effect.either(listImages(join(dir, "nope")))
      expect(Either.isLeft(missing) && missing.left.message).toMatch(/nope: it does not exist/)
    })
  )

  it("draws crops uniformly inside the image, reproducibly", () => {
    const img = { path: "x", width: 60, height: 55, pixels: Float32Array.from({ length: 60 * 55 }, (_, i) => i) }
    const a = makeRng(4)
    const b = makeRng(4)
    const seen = new Set<string>()
    for (let i = 0; i < 500; i++) {
      const p = randomCropPosition(img, 52, a)
      expect(p).toEqual(randomCropPosition(img, 52, b))
      expect(p.top >= 0 && p.top <= 3 && p.left >= 0 && p.left <= 8).toBe(true)
      seen.add(`${p.top},${p.left}`)
    }
    expect(seen.size).toBe(4 * 9)
    const crop = cropPixels(img, 2, 5, 52)
    expect(crop[0]).toBe(2 * 60 + 5)
    expect(crop[52 * 51 + 51]).toBe((2 + 51) * 60 + 5 + 51)
    expect(() => randomCropPosition({ width: 40, height: 100 }, 52, a)).toThrow(/does not fit/)
  })
})
