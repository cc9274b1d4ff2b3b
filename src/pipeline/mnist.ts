/** MNIST as pipeline stages: load it from where it is, split it, and normalise each split into a Dataset. */
import * as tf from "@tensorflow/tfjs-core"
import type { MnistData, MnistSplit } from "../data/mnist/data.js"
import { downloadMnist } from "../data/mnist/download.js"
import { loadEmbeddedMnist } from "../data/mnist/embedded.js"
import { loadMnistDir } from "../data/mnist/idx-folder.js"
import { MNIST_MEAN, MNIST_STD, normalizeMnist } from "../data/mnist/normalize.js"
import { splitMnist } from "../data/mnist/split.js"
import type { Dataset, Splits } from "./dataset.js"
import { mnistNormalization } from "./normalization.js"

/** Where MNIST comes from: a folder of IDX files, a checksum-verified download, or the embedded digits. */
export type MnistSource = { readonly kind: "dir"; readonly dir: string } | { readonly kind: "download"; readonly cacheDir?: string } | { readonly kind: "embedded" }

export const loadMnist = (source: MnistSource) => {
  switch (source.kind) {
    case "dir":
      return loadMnistDir(source.dir)
    case "download":
      return downloadMnist(source.cacheDir === undefined ? {} : { cacheDir: source.cacheDir })
    case "embedded":
      return loadEmbeddedMnist()
  }
}

/** The seeded train/validation/test split, the training part optionally cut to its first trainSize rows. */
export const splitStage =
  (seed: number, trainSize?: number) =>
  (data: MnistData): Splits<MnistSplit> =>
    splitMnist(data, seed, trainSize === undefined ? {} : { train: trainSize })

const mnistToPixels = (x: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => tf.add(tf.mul(x, MNIST_STD), MNIST_MEAN))

/** Pixels to [0, 1], then (x − 0.1307)/0.3081. */
export const normalizeMnistStage =
  (name: string) =>
  (split: MnistSplit): Dataset => ({
    name,
    x: normalizeMnist(split.images),
    rows: split.count,
    dim: 784,
    height: 28,
    width: 28,
    labels: split.labels,
    toPixels: mnistToPixels,
    normalization: mnistNormalization
  })
