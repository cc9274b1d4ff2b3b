import * as tf from "@tensorflow/tfjs-core"

/**
 * Run a tensor computation and copy its result to the host, releasing every tensor on the way.
 * Returning a typed array from tf.tidy itself would be slow: tidy walks its result element by
 * element looking for tensors to keep.
 */
export const readTidy = (f: () => tf.Tensor): Float32Array => {
  const t = tf.tidy(f)
  const data = Float32Array.from(t.dataSync() as Float32Array)
  t.dispose()
  return data
}
