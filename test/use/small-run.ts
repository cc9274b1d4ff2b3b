/** A small VDL run on the embedded digits, trained once per test file, and its data in pixels. */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Dataset } from "../../src/pipeline/sources/dataset.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { smallData, smallSettings } from "../helpers/mnist-runs.js"

/** A data set's rows back in pixels, as a person would hand them to a loaded model. */
export const pixelsOf = (ds: Dataset, rows = ds.rows): Float32Array =>
  tf.tidy(() =>
    Float32Array.from(
      ds
        .toPixels(
          tf.tensor2d(ds.x.subarray(0, rows * ds.dim), [rows, ds.dim]),
          Int32Array.from({ length: rows }, (_, i) => i)
        )
        .dataSync() as Float32Array
    )
  )

const train = Effect.gen(function* () {
  const data = yield* smallData(2000)
  const out = join(mkdtempSync(join(tmpdir(), "use-")), "run")
  const summary = yield* trainRun(
    { model: "vdl", settings: smallSettings("vdl", { decoderLr: 3e-3 }), epochs: 5, seed: 3, out },
    data
  )
  return { data, out, summary }
})

let trained: Effect.Effect.Success<typeof train> | undefined

/**
 * VDL (code size 16, the decoder's learning rate raised to 3e-3 so that a few epochs learn more
 * than the mean digit) trained for five epochs on 2,000 digits into a temp run folder, once per
 * test file: the tests only read it.
 */
export const smallRun = Effect.suspend(() =>
  trained !== undefined ? Effect.succeed(trained) : train.pipe(Effect.tap((run) => Effect.sync(() => (trained = run))))
)
