/** MNIST pixels to the model's input space, and the pixel statistics that map it back. */

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
