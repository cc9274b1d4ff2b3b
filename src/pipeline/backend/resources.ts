import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { Composition } from "../../models/composition.js"
import { disposeModel, makeModel } from "../../models/model.js"
import type { UniformSource } from "../../models/rng.js"
import type { ModelSettings } from "../../models/settings.js"
import { Backend } from "./backend.js"

/**
 * A model computing with the Backend's kernels, whose variables and optimizer state are released
 * when the scope closes.
 */
export const scopedModel = (settings: ModelSettings, inputDim: number, rng: UniformSource, composition?: Composition) =>
  Effect.flatMap(Backend, ({ linalg }) =>
    Effect.acquireRelease(
      Effect.sync(() => makeModel(settings, inputDim, rng, composition === undefined ? { linalg } : { linalg, composition })),
      (m) => Effect.sync(() => disposeModel(m))
    )
  )

/** Run a synchronous tensor computation on a batch uploaded for it alone. */
export const withBatchTensor = <A>(data: Float32Array, rows: number, dim: number, use: (x: tf.Tensor2D) => A) =>
  Effect.acquireUseRelease(
    Effect.sync(() => tf.tensor2d(data, [rows, dim])),
    (x) => Effect.sync(() => use(x)),
    (x) => Effect.sync(() => x.dispose())
  )
