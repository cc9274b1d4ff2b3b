import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { Composition } from "../../models/composition.js"
import { geometryOf } from "../../models/decoders/decoder.js"
import { decoderKindOf } from "../../models/decoders/registry.js"
import { disposeModel, makeModel } from "../../models/model.js"
import type { UniformSource } from "../../models/rng.js"
import type { ModelSettings } from "../../models/settings.js"
import { SettingsError } from "../errors.js"
import { Backend } from "./backend.js"

/**
 * Images a model's decoder cannot produce (a conv decoder whose code map does not fit them), as a
 * SettingsError about the code size; checked before a model is made for new data.
 */
export const decoderFits = (
  settings: ModelSettings,
  inputDim: number,
  image?: { readonly height: number; readonly width: number }
): Effect.Effect<void, SettingsError> => {
  const problem =
    decoderKindOf(settings).geometryProblem?.(settings, geometryOf(settings.codeDim, inputDim, image)) ?? null
  return problem === null ? Effect.void : Effect.fail(new SettingsError({ setting: "codeDim", problem }))
}

/**
 * A model computing with the Backend's kernels, whose variables and optimizer state are released
 * when the scope closes.
 */
export const scopedModel = (
  settings: ModelSettings,
  inputDim: number,
  rng: UniformSource,
  composition?: Composition,
  image?: { readonly height: number; readonly width: number }
) =>
  Effect.flatMap(Backend, ({ linalg }) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        makeModel(settings, inputDim, rng, {
          linalg,
          ...(composition === undefined ? {} : { composition }),
          ...(image === undefined ? {} : { image })
        })
      ),
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
