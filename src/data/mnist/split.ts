/** Train / validation / test splits of MnistData: the authors' validation indices, or a seeded draw. */
import { makeRng } from "../random.js"
import { MNIST_PIXELS, type MnistData, type MnistSplit, selectedSplit } from "./data.js"

/** Full MNIST holds out 5,000 of its 60,000 training images; other sets keep the proportion. */
const VALIDATION_FRACTION = 5000 / 60000

export interface SplitSizes {
  /**
   * Validation size when it is drawn at random (default round(n × 5000/60000)). With the
   * authors' indices, the first `val` of them are used and the rest are left out of train too,
   * so a smaller validation set never leaks authors' validation images into training.
   */
  readonly val?: number
  /** Keep only the first `train` training images (after the split), for quick runs. */
  readonly train?: number
  /** Keep only the first `test` test images, for quick runs. */
  readonly test?: number
}

export interface MnistSplits {
  readonly train: MnistSplit
  readonly val: MnistSplit
  readonly test: MnistSplit
  /** Indices into data.train that make up train and val, for logging and reproducibility. */
  readonly trainIndices: number[]
  readonly valIndices: number[]
  /** "authors" when validation-indices.txt decided the split, "seeded" otherwise. */
  readonly valSource: "authors" | "seeded"
}

const checkSize = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0))
    throw new RangeError(`split size ${name} must be a non-negative integer, got ${value}`)
}

/** Copies the given examples into a new split, in the order given. */
export const selectExamples = (split: MnistSplit, indices: readonly number[]): MnistSplit => {
  const images = new Uint8Array(indices.length * MNIST_PIXELS)
  const labels = new Uint8Array(indices.length)
  for (const i of indices)
    if (!(Number.isInteger(i) && i >= 0 && i < split.count))
      throw new RangeError(`example index ${i} is outside 0..${split.count - 1}`)
  // Copy runs of consecutive indices in one go: a training set in index order is a few long runs.
  for (let start = 0; start < indices.length; ) {
    let end = start + 1
    while (end < indices.length && indices[end] === indices[end - 1] + 1) end++
    const from = indices[start]
    const length = end - start
    images.set(split.images.subarray(from * MNIST_PIXELS, (from + length) * MNIST_PIXELS), start * MNIST_PIXELS)
    labels.set(split.labels.subarray(from, from + length), start)
    start = end
  }
  return { images, labels, count: indices.length }
}

/**
 * The given examples as a split that refers to `split`'s images until its own are read (then
 * copied as selectExamples copies them): the same split, without a second copy of the pixels
 * for a pipeline that gathers its batches from the selection.
 */
const selectLazily = (split: MnistSplit, indices: readonly number[]): MnistSplit => {
  const selected = Int32Array.from(indices)
  const labels = new Uint8Array(selected.length)
  for (const [k, i] of indices.entries()) {
    if (!(Number.isInteger(i) && i >= 0 && i < split.count))
      throw new RangeError(`example index ${i} is outside 0..${split.count - 1}`)
    labels[k] = split.labels[i]
  }
  return selectedSplit({ images: split.images, indices: selected }, labels, () => selectExamples(split, indices).images)
}

const firstN = (split: MnistSplit, n: number | undefined): MnistSplit =>
  n === undefined || n >= split.count
    ? split
    : { images: split.images.subarray(0, n * MNIST_PIXELS), labels: split.labels.subarray(0, n), count: n }

/**
 * Splits data.train into train and validation; test is always data.test.
 *
 * With the authors' validation indices, val is those images (in the file's order) and train is
 * every other image in index order, whatever the seed. Without them, a permutation seeded by
 * `seed` picks the validation images; both parts are then kept in index order, so the result
 * depends only on the seed and the data. Sizes that are not non-negative integers throw a
 * RangeError (a programming error); sizes above what is available keep everything.
 *
 * Train and validation refer to data.train's images until their own `images` are first read
 * (see selectedSplit): the pipeline gathers its batches through the selection and never copies.
 */
export const splitMnist = (data: MnistData, seed: number, sizes: SplitSizes = {}): MnistSplits => {
  checkSize("val", sizes.val)
  checkSize("train", sizes.train)
  checkSize("test", sizes.test)
  const n = data.train.count

  let valIndices: number[]
  const heldOut = new Uint8Array(n)
  if (data.validationIndices !== undefined) {
    for (const i of data.validationIndices) heldOut[i] = 1
    valIndices = data.validationIndices.slice(0, sizes.val ?? data.validationIndices.length)
  } else {
    const valCount = Math.min(n, sizes.val ?? Math.round(n * VALIDATION_FRACTION))
    valIndices = makeRng(seed)
      .permutation(n)
      .slice(0, valCount)
      .sort((a, b) => a - b)
    for (const i of valIndices) heldOut[i] = 1
  }

  const trainIndices: number[] = []
  for (let i = 0; i < n; i++) if (!heldOut[i]) trainIndices.push(i)
  const keptTrain = sizes.train === undefined ? trainIndices : trainIndices.slice(0, sizes.train)

  return {
    train: selectLazily(data.train, keptTrain),
    val: selectLazily(data.train, valIndices),
    test: firstN(data.test, sizes.test),
    trainIndices: keptTrain,
    valIndices,
    valSource: data.validationIndices !== undefined ? "authors" : "seeded"
  }
}
