/**
 * Small training runs on MNIST for the pipeline tests: the test environment, a slice of the
 * embedded digits, small settings, and what a run leaves in its folder.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { readArrowIpc } from "../../src/data/table.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variantOf } from "../../src/models/variants.js"
import { type BackendName, BackendLive } from "../../src/pipeline/backend/backend.js"
import { mapSplits } from "../../src/pipeline/sources/dataset.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../../src/pipeline/sources/mnist.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"

export const quiet = Logger.replace(Logger.defaultLogger, Logger.none)

export const env = (backend: BackendName = "wasm") =>
  Layer.mergeAll(NodeContext.layer, ProgressSilent, BackendLive(backend), quiet)

/** The embedded digits as experiments/mnist.ts splits them with --train-size and --seed. */
export const cliData = (train: number, seed: number) =>
  loadMnist({ kind: "embedded" }).pipe(
    Effect.map((data) => mapSplits(splitStage(seed, train)(data), (s, name) => normalizeMnistStage(name)(s)))
  )

/** The embedded digits cut to `train` training rows and 100 validation and test rows: quick, and present on every machine. */
export const smallData = (train: number, seed = 5) =>
  cliData(train, seed).pipe(
    Effect.map((s) => ({
      ...s,
      val: { ...s.val, rows: 100, x: s.val.x.subarray(0, 100 * 784) },
      test: { ...s.test, rows: 100, x: s.test.x.subarray(0, 100 * 784) }
    }))
  )

export const smallSettings = (model: string, overrides: Partial<ModelSettings> = {}): ModelSettings => ({
  ...variantOf(model)!.settings.mnist,
  codeDim: 16,
  batchSize: 50,
  ...overrides
})

/** metrics.arrow's rows without the wall-clock columns, which no two runs share. */
export const metricsWithoutTimes = (folder: string) =>
  readArrowIpc(new Uint8Array(readFileSync(join(folder, "metrics.arrow")))).map(
    ({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest
  )

/** Every checkpoint file in a folder, temp files of unfinished writes apart. */
export const checkpointFiles = (folder: string) =>
  readdirSync(folder).filter((n) => n.endsWith(".safetensors") && !n.startsWith("."))
