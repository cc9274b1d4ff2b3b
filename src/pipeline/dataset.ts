import * as tf from "@tensorflow/tfjs-core"
import { Chunk, Effect, Option, Stream } from "effect"
import { type MnistData, type MnistSplit, downloadMnist, loadEmbeddedMnist, loadMnistDir } from "../data/mnist.js"
import type { Rng } from "../data/random.js"
import { MNIST_MEAN, MNIST_STD, normalizeMnist, splitMnist } from "../data/split.js"

/**
 * A data set ready for the model: rows of the model's input space, and the map back to pixels
 * in [0, 1] that PSNR and pictures need (for MNIST an affine map; for LCN patches it depends on
 * each row's stored local mean and scale, hence the row indices).
 */
export interface Dataset {
  readonly name: string
  readonly x: Float32Array
  readonly rows: number
  readonly dim: number
  readonly height: number
  readonly width: number
  readonly labels: Uint8Array | null
  readonly toPixels: (x: tf.Tensor2D, indices: Int32Array) => tf.Tensor2D
}

export interface Batch {
  readonly x: Float32Array
  readonly indices: Int32Array
  readonly rows: number
}

export interface Splits<A> {
  readonly train: A
  readonly val: A
  readonly test: A
}

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

/** Pixels to [0, 1], then (x − 0.1307)/0.3081 (SPEC §6). */
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
    toPixels: mnistToPixels
  })

export const mapSplits = <A, B>(s: Splits<A>, f: (a: A, name: keyof Splits<A>) => B): Splits<B> => ({
  train: f(s.train, "train"),
  val: f(s.val, "val"),
  test: f(s.test, "test")
})

const gather = (ds: Dataset, indices: Int32Array): Batch => {
  const x = new Float32Array(indices.length * ds.dim)
  for (let i = 0; i < indices.length; i++) x.set(ds.x.subarray(indices[i] * ds.dim, (indices[i] + 1) * ds.dim), i * ds.dim)
  return { x, indices, rows: indices.length }
}

/**
 * Mini-batches as a stream: in a fresh seeded order, the last partial batch dropped (as in
 * training), or in file order with the last partial batch kept (as in evaluation).
 */
export const batchStream = (
  ds: Dataset,
  batchSize: number,
  order: { readonly kind: "shuffled"; readonly rng: Rng } | { readonly kind: "sequential" }
): Stream.Stream<Batch> => {
  const count = order.kind === "shuffled" ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)
  return Stream.suspend(() => {
    const perm = order.kind === "shuffled" ? Int32Array.from(order.rng.permutation(ds.rows)) : null
    return Stream.unfoldChunk(0, (b) => {
      if (b >= count) return Option.none()
      const start = b * batchSize
      const end = Math.min(start + batchSize, ds.rows)
      const indices = perm !== null ? perm.subarray(start, end) : Int32Array.from({ length: end - start }, (_, i) => start + i)
      return Option.some([Chunk.of(gather(ds, indices)), b + 1] as const)
    })
  })
}

export const batchCount = (ds: Dataset, batchSize: number, shuffled: boolean): number =>
  shuffled ? Math.floor(ds.rows / batchSize) : Math.ceil(ds.rows / batchSize)

export const dataSummary = (s: Splits<Dataset>) => Effect.logInfo(`data: ${s.train.rows} train / ${s.val.rows} val / ${s.test.rows} test rows of ${s.train.dim} values`)
