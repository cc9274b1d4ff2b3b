/**
 * A tiny version of the paper's plan for the tests: the embedded digits, 300 training images,
 * 16 code components, one epoch, SDL at two λ and VDL at one, one patch variant on a file of 200 patches from generated photos, and evaluations
 * on a hundred images. Seconds per step, not minutes.
 */
import { join } from "node:path"
import type { PaperSpec } from "../../src/pipeline/paper/plan.js"
import type { ScaleSettings } from "../../src/pipeline/paper/scale.js"
import { texture, writePhotos } from "../helpers/photos.js"

export const tinySizes: ScaleSettings = {
  mnist: { trainSize: 300, epochs: 1 },
  patches: { train: 200, val: 50, test: 50, epochs: 1 },
  denoise: { sigmas: [0.5, 1], limit: 60, examples: 3 },
  classify: { perClass: [1, 2], seeds: 2, epochs: 3, valLimit: 100, testLimit: 100 },
  collapse: { models: ["noreg", "vdl"], epochs: 1, trainSize: 300 }
}

/** Photos in BSDS500's layout: train/, val/ and test/. */
export const writeTinyPhotos = async (root: string) => {
  await writePhotos(join(root, "train"), [
    texture("a.jpg", 120, 90, 1),
    texture("b.png", 100, 130, 2),
    texture("c.jpg", 140, 100, 3)
  ])
  await writePhotos(join(root, "val"), [texture("d.jpg", 110, 110, 4)])
  await writePhotos(join(root, "test"), [texture("e.jpg", 120, 100, 5), texture("f.png", 100, 120, 6)])
  return root
}

export const tinySpec = (out: string, images: string | null): PaperSpec => ({
  scale: "quick",
  epochs: null,
  out,
  seed: 7,
  mnist: { kind: "embedded" },
  images,
  backend: "wasm",
  sizes: tinySizes,
  lambdas: { mnist: { sdl: [0.005, 0.01], vdl: [0.02] }, patches: images === null ? {} : { vdl: [0.01] } },
  defaultModels: [],
  extraArgs: ["--code-dim", "16", "--batch-size", "50"],
  overrides: { codeDim: 16, batchSize: 50 }
})
