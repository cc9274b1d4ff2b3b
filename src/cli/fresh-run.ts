import { Effect } from "effect"
import type { ModelSettings } from "../models/settings.js"
import type { BackendName } from "../pipeline/choices.js"
import type { Dataset, Splits } from "../pipeline/sources/dataset.js"

/** What the training commands know when a run starts afresh. */
export interface FreshRun {
  readonly model: string
  readonly settings: ModelSettings
  readonly epochs: number
  readonly seed: number
  readonly out: string
  readonly overwrite: boolean
  readonly describe: Readonly<Record<string, unknown>>
  /** --target-sparsity: λ is searched for before the run, and the search recorded in its summary. */
  readonly targetSparsity: number | undefined
  readonly backend: BackendName | undefined
}

/**
 * A fresh run of train, train-data or train --source: λ for the target sparsity when one is given,
 * then the run on the chosen backend. The library loads here, when a run starts, not for --help.
 */
export const freshRun = (run: FreshRun, splits: Splits<Dataset>) =>
  Effect.gen(function* () {
    const [{ trainRun }, { BackendLive }, { settingsForTarget }] = yield* Effect.promise(() =>
      Promise.all([
        import("../pipeline/train/run.js"),
        import("../pipeline/backend/backend.js"),
        import("../pipeline/train/target-sparsity.js")
      ])
    )
    return yield* Effect.gen(function* () {
      const settings = { ...run.settings, epochs: run.epochs }
      const chosen = yield* settingsForTarget(run.model, settings, splits, run.targetSparsity, run.seed)
      return yield* trainRun(
        {
          model: run.model,
          settings: chosen.settings,
          epochs: run.epochs,
          seed: run.seed,
          out: run.out,
          overwrite: run.overwrite,
          describe: { ...run.describe, ...chosen.describe }
        },
        splits
      )
    }).pipe(Effect.provide(BackendLive(run.backend)))
  })
