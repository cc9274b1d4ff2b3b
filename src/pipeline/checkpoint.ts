import * as tf from "@tensorflow/tfjs-core"
import { Effect, Either } from "effect"
import { readFile } from "node:fs/promises"
import { writeFileAtomic } from "../data/atomic-write.js"
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "../data/safetensors.js"
import { modelTensors, type SparseCodingModel } from "../models/model.js"
import type { ModelSettings } from "../models/settings.js"
import { CheckpointError } from "./errors.js"

export const checkpointFormat = "sparse-vdl/1"

/** A host copy of every tensor of a model plus what is needed to rebuild and continue it. */
export interface Snapshot {
  readonly tensors: Readonly<Record<string, NamedArray>>
  readonly model: string
  readonly settings: ModelSettings
  readonly inputDim: number
  readonly epoch: number
  readonly adamSteps: { readonly encoder: number; readonly decoder: number }
}

export const snapshotModel = (m: SparseCodingModel, model: string, epoch: number): Snapshot => {
  const tensors: Record<string, NamedArray> = {}
  for (const [name, v] of Object.entries(modelTensors(m))) {
    tensors[name] = { shape: v.shape, data: Float32Array.from(v.dataSync() as Float32Array) }
  }
  return {
    tensors,
    model,
    settings: m.settings,
    inputDim: m.inputDim,
    epoch,
    adamSteps: { encoder: m.encoderOptimizer.step, decoder: m.decoderOptimizer.step }
  }
}

/** Copy a snapshot's values into a model of the same shape. */
export const restoreSnapshot = (m: SparseCodingModel, s: Snapshot, file: string): Effect.Effect<void, CheckpointError> =>
  Effect.gen(function* () {
    const target = modelTensors(m)
    for (const [name, v] of Object.entries(target)) {
      const saved = s.tensors[name]
      if (saved === undefined) {
        return yield* Effect.fail(new CheckpointError({ file, problem: `it has no tensor ${name}: it was written for another kind of model` }))
      }
      if (saved.shape.length !== v.shape.length || saved.shape.some((d, i) => d !== v.shape[i])) {
        return yield* Effect.fail(
          new CheckpointError({ file, problem: `tensor ${name} has shape [${saved.shape}] but this model needs [${v.shape}] (another code size or hidden width?)` })
        )
      }
    }
    tf.tidy(() => {
      for (const [name, v] of Object.entries(target)) v.assign(tf.tensor(s.tensors[name].data, v.shape))
    })
    m.encoderOptimizer.step = s.adamSteps.encoder
    m.decoderOptimizer.step = s.adamSteps.decoder
  })

export const encodeSnapshot = (s: Snapshot): Uint8Array =>
  encodeSafetensors(s.tensors, {
    format: checkpointFormat,
    model: s.model,
    settings: JSON.stringify(s.settings),
    inputDim: String(s.inputDim),
    epoch: String(s.epoch),
    adamSteps: JSON.stringify(s.adamSteps)
  })

export const writeCheckpoint = (path: string, s: Snapshot) => writeFileAtomic(path, encodeSnapshot(s))

export const readCheckpoint = (path: string): Effect.Effect<Snapshot, CheckpointError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (e) => new CheckpointError({ file: path, problem: `cannot be read (${e instanceof Error ? e.message : String(e)})` })
    })
    const decoded = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path)
    if (Either.isLeft(decoded)) return yield* Effect.fail(new CheckpointError({ file: path, problem: decoded.left.problem }))
    const { tensors, metadata } = decoded.right
    if (metadata.format !== checkpointFormat) {
      return yield* Effect.fail(new CheckpointError({ file: path, problem: `its format is ${metadata.format ?? "unknown"}, expected ${checkpointFormat}` }))
    }
    const parsed = yield* Effect.try({
      try: () => ({
        settings: JSON.parse(metadata.settings) as ModelSettings,
        adamSteps: JSON.parse(metadata.adamSteps) as Snapshot["adamSteps"]
      }),
      catch: () => new CheckpointError({ file: path, problem: "its settings metadata is not valid JSON" })
    })
    return {
      tensors,
      model: metadata.model,
      settings: parsed.settings,
      inputDim: Number(metadata.inputDim),
      epoch: Number(metadata.epoch),
      adamSteps: parsed.adamSteps
    }
  })
