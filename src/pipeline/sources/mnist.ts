/** MNIST as pipeline stages: load it from where it is, split it, and normalise each split into a Dataset. */
import * as tf from "@tensorflow/tfjs-core"
import { type MnistData, type MnistSplit, selectedImagesOf } from "../../data/mnist/data.js"
import { downloadMnist } from "../../data/mnist/download.js"
import { loadEmbeddedMnist } from "../../data/mnist/embedded.js"
import { loadMnistDir } from "../../data/mnist/idx-folder.js"
import { MNIST_MEAN, MNIST_STD, normalizeMnistRows } from "../../data/mnist/normalize.js"
import { splitMnist } from "../../data/mnist/split.js"
import { type Dataset, datasetFromGather, type Splits } from "./dataset.js"
import { mnistNormalization } from "./mnist-normalization.js"

/** Where MNIST comes from: a folder of IDX files, a checksum-verified download, or the embedded digits. */
export type MnistSource =
  | { readonly kind: "dir"; readonly dir: string }
  | { readonly kind: "download"; readonly cacheDir?: string }
  | { readonly kind: "embedded" }

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

/**
 * Pixels to [0, 1], then (x − 0.1307)/0.3081. The data set keeps the split's pixel bytes (a
 * quarter of the floats; for a split of splitMnist, the bytes of the images it was selected from,
 * not a copy) and normalises the rows of each batch when the batch is gathered: the same table,
 * so the same floats as normalising everything at once. Its x, for consumers that read every
 * row, is built on first read.
 */
export const normalizeMnistStage =
  (name: string) =>
  (split: MnistSplit): Dataset => {
    const selected = selectedImagesOf(split)
    const gather =
      selected === undefined
        ? (indices: Int32Array, out?: Float32Array) => normalizeMnistRows(split.images, indices, out)
        : (indices: Int32Array, out?: Float32Array) =>
            normalizeMnistRows(
              selected.images,
              indices.map((i) => {
                if (!(i >= 0 && i < split.count))
                  throw new RangeError(`${name}: row ${i} is outside 0..${split.count - 1}`)
                return selected.indices[i]
              }),
              out
            )
    return datasetFromGather(
      {
        name,
        rows: split.count,
        dim: 784,
        height: 28,
        width: 28,
        labels: split.labels,
        toPixels: mnistToPixels,
        pixelScale: MNIST_STD,
        normalization: mnistNormalization
      },
      gather
    )
  }
