import * as tf from "@tensorflow/tfjs-core"
import { Effect, Stream } from "effect"
import { encode } from "../../models/encoder.js"
import { componentUse } from "../../models/norms.js"
import type { SparseCodingModel } from "../../models/model.js"
import { readTidy } from "../../models/read.js"
import { batchStream, type Dataset, rowsAt } from "../sources/dataset.js"
import { withBatchTensor } from "../backend/resources.js"

/**
 * The decoder's output atoms as images, as the decoder defines them: the rows of its last weight
 * for a dense one (the columns of A for a linear dictionary, of A₂ for the -NL decoder),
 * D(eⱼ) − D(0) for a decoder on the generic path.
 */
export const decoderColumns = (m: SparseCodingModel): { images: Float32Array; count: number } => m.decoder.columns()

/** Per code component: the largest value and the fraction of rows where it is non-zero. */
export interface CodeStatistics {
  readonly max: Float32Array
  readonly usage: Float32Array
}

export const codeStatistics = (m: SparseCodingModel, ds: Dataset) =>
  batchStream(ds, m.settings.batchSize, { kind: "sequential" }).pipe(
    Stream.mapEffect((batch) =>
      withBatchTensor(batch.x, batch.rows, ds.dim, (x) => {
        const z = encode(m.encoder, x)
        const stats = {
          max: readTidy(() => tf.max(z, 0)),
          used: componentUse(z, m.decoder.linalg),
          rows: batch.rows
        }
        z.dispose()
        return stats
      })
    ),
    Stream.runFold(
      { max: new Float32Array(m.settings.codeDim), used: new Float64Array(m.settings.codeDim), rows: 0 },
      (acc, b) => {
        for (let j = 0; j < acc.max.length; j++) {
          acc.max[j] = Math.max(acc.max[j], b.max[j])
          acc.used[j] += b.used[j]
        }
        return { ...acc, rows: acc.rows + b.rows }
      }
    ),
    Effect.map(
      (acc): CodeStatistics => ({ max: acc.max, usage: Float32Array.from(acc.used, (u) => u / Math.max(acc.rows, 1)) })
    )
  )

/**
 * The atoms D(cⱼeⱼ) − D(0) of a non-linear decoder, with cⱼ the largest activation of component
 * j; null for a linear one, whose atoms are its columns.
 */
export const decoderAtoms = (m: SparseCodingModel, maxActivation: Float32Array): Float32Array | null =>
  m.decoder.atoms(maxActivation)?.images ?? null

/** The first `count` rows of a data set and their reconstructions from the encoder's codes, in pixels. */
export const reconstructionPairs = (m: SparseCodingModel, ds: Dataset, count: number) => {
  const rows = Math.min(count, ds.rows)
  const indices = Int32Array.from({ length: rows }, (_, i) => i)
  // rowsAt, not ds.x: a data set that gathers its rows (bytes, a streamed file) is not built whole.
  return withBatchTensor(rowsAt(ds, indices), rows, ds.dim, (x) => ({
    inputs: readTidy(() => ds.toPixels(x, indices)),
    reconstructions: readTidy(() => ds.toPixels(m.decoder.decode(encode(m.encoder, x)), indices)),
    count: rows
  }))
}
