/** A small labelled image folder (FOLDER/CLASS/IMAGE.png) of patterns a linear classifier separates, written as real PNG files. */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { PNG } from "pngjs"
import { makeRng } from "../../src/data/random.js"

/** The classes' patterns on a side×side grid: a horizontal bar, a vertical bar, the two diagonals. */
const patterns: Record<string, (r: number, c: number, side: number) => boolean> = {
  across: (r, _c, side) => Math.abs(r - (side - 1) / 2) < side / 6,
  down: (_r, c, side) => Math.abs(c - (side - 1) / 2) < side / 6,
  cross: (r, c, side) => r === c || r + c === side - 1
}

export const labelledClasses = Object.keys(patterns).sort()

/** Grey values in [0, 1] as an 8-bit RGBA PNG. */
export const writeGrayPng = (path: string, pixels: ArrayLike<number>, width: number, height: number) => {
  const png = new PNG({ width, height })
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round(pixels[i] * 255)))
    png.data.set([v, v, v, 255], i * 4)
  }
  writeFileSync(path, PNG.sync.write(png))
}

/**
 * `perClass` images of side×side pixels in each class folder: the class's pattern at a random
 * strength over a dim background, with noise, so that no two images are the same.
 */
export const writeLabelledFolder = (dir: string, perClass: number, side = 8, seed = 1): string => {
  const rng = makeRng(seed)
  for (const name of labelledClasses) {
    mkdirSync(join(dir, name), { recursive: true })
    for (let i = 0; i < perClass; i++) {
      const strength = 0.6 + 0.4 * rng.next()
      const pixels = Array.from(
        { length: side * side },
        (_, k) => 0.1 + 0.15 * rng.next() + (patterns[name](Math.floor(k / side), k % side, side) ? strength * 0.75 : 0)
      )
      writeGrayPng(join(dir, name, `${String(i).padStart(3, "0")}.png`), pixels, side, side)
    }
  }
  return dir
}
