import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { disposeModel, makeModel } from "../models/model.js"
import type { UniformSource } from "../models/rng.js"
import type { ModelSettings } from "../models/settings.js"

/** A model whose variables and optimizer state are released when the scope closes. */
export const scopedModel = (settings: ModelSettings, inputDim: number, rng: UniformSource) =>
  Effect.acquireRelease(Effect.sync(() => makeModel(settings, inputDim, rng)), (m) => Effect.sync(() => disposeModel(m)))

/** Run a synchronous tensor computation on a batch uploaded for it alone. */
export const withBatchTensor = <A>(data: Float32Array, rows: number, dim: number, use: (x: tf.Tensor2D) => A) =>
  Effect.acquireUseRelease(
    Effect.sync(() => tf.tensor2d(data, [rows, dim])),
    (x) => Effect.sync(() => use(x)),
    (x) => Effect.sync(() => x.dispose())
  )
