/** Small generated photos, written as real PNG and JPEG files by sharp, for the builder's tests. */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { makeRng } from "../../src/data/random.js"

export interface PhotoSpec {
  readonly name: string
  readonly width: number
  readonly height: number
  /** "texture": sinusoids and noise, different per seed; "flat": one colour. */
  readonly kind: "texture" | "flat"
  readonly seed: number
}

const rgbOf = (spec: PhotoSpec): Buffer => {
  const rng = makeRng(spec.seed)
  const out = Buffer.alloc(spec.width * spec.height * 3)
  const [fx, fy, phase] = [0.05 + 0.2 * rng.next(), 0.05 + 0.2 * rng.next(), 6 * rng.next()]
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      for (let ch = 0; ch < 3; ch++) {
        const v =
          spec.kind === "flat"
            ? 90 + 40 * ch
            : 128 +
              70 * Math.sin(fx * x + phase + ch) * Math.cos(fy * y) +
              40 * (rng.next() - 0.5) +
              (x > spec.width / 2 ? 30 : -30)
        out[(y * spec.width + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)))
      }
    }
  }
  return out
}

/** Writes each photo into `dir` in the format its extension names; returns the paths. */
export const writePhotos = async (dir: string, specs: readonly PhotoSpec[]): Promise<string[]> => {
  mkdirSync(dir, { recursive: true })
  const paths: string[] = []
  for (const spec of specs) {
    const path = join(dir, spec.name)
    const img = sharp(rgbOf(spec), { raw: { width: spec.width, height: spec.height, channels: 3 } })
    await (spec.name.endsWith(".png") ? img.png() : img.jpeg({ quality: 92 })).toFile(path)
    paths.push(path)
  }
  return paths
}

export const texture = (name: string, width: number, height: number, seed: number): PhotoSpec => ({
  name,
  width,
  height,
  kind: "texture",
  seed
})
export const flat = (name: string, width: number, height: number): PhotoSpec => ({
  name,
  width,
  height,
  kind: "flat",
  seed: 0
})
