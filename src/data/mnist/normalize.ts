/** MNIST pixels to the model's input space, and the pixel statistics that map it back. */
import { MNIST_PIXELS } from "./data.js"

/** The usual MNIST pixel statistics (on [0,1] pixels), as in torchvision's examples. */
export const MNIST_MEAN = 0.1307
export const MNIST_STD = 0.3081

// Only 256 possible inputs: a table makes normalising 47 M pixels a lookup each.
const NORMALIZED = Float32Array.from({ length: 256 }, (_, p) => (p / 255 - MNIST_MEAN) / MNIST_STD)

/** (p/255 − MNIST_MEAN) / MNIST_STD for every pixel. */
export const normalizeMnist = (images: Uint8Array): Float32Array => {
  const out = new Float32Array(images.length)
  for (let i = 0; i < images.length; i++) out[i] = NORMALIZED[images[i]]
  return out
}

// Whether a 32-bit word holds its bytes lowest first, as x86 and ARM do.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * Images `indices` (0-based, into `images`, 784 bytes each) normalised as normalizeMnist does,
 * into `out` when given (at least indices.length × 784 long; the filled part is answered), else
 * a new array: the same floats, from the same table, for only the rows a batch needs. A row is
 * read four bytes at a time where the bytes start on a word boundary: a batch's gather runs
 * between every two training steps, and reading byte by byte took 2.5 times as long.
 */
export const normalizeMnistRows = (
  images: Uint8Array,
  indices: ArrayLike<number>,
  out?: Float32Array
): Float32Array => {
  const size = indices.length * MNIST_PIXELS
  const target = out !== undefined && out.length >= size ? out.subarray(0, size) : new Float32Array(size)
  const aligned = littleEndian && images.byteOffset % 4 === 0
  const words = aligned ? new Uint32Array(images.buffer, images.byteOffset, images.length >>> 2) : null
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * MNIST_PIXELS
    if (!(from >= 0 && from + MNIST_PIXELS <= images.length))
      throw new RangeError(`normalizeMnistRows: image ${indices[i]} is outside 0..${images.length / MNIST_PIXELS - 1}`)
    let at = i * MNIST_PIXELS
    if (words !== null) {
      // 784 is a multiple of 4: every row starts on a word.
      for (let w = from >>> 2, end = (from + MNIST_PIXELS) >>> 2; w < end; w++, at += 4) {
        const v = words[w]
        target[at] = NORMALIZED[v & 255]
        target[at + 1] = NORMALIZED[(v >>> 8) & 255]
        target[at + 2] = NORMALIZED[(v >>> 16) & 255]
        target[at + 3] = NORMALIZED[v >>> 24]
      }
    } else {
      for (let p = 0; p < MNIST_PIXELS; p++) target[at + p] = NORMALIZED[images[from + p]]
    }
  }
  return target
}
