/**
 * λ for one's own data: the weight of ‖z‖₁ that gives the codes a wanted share of zeros, found by
 * a short search before the run. Each try trains a fresh model on a sample of the training rows
 * and measures the zero fraction of its validation codes (the encoder's, as the run's summary
 * reports them); the zero fraction grows with λ, so a bracket in log λ is widened until it holds
 * the target and then narrowed by its geometric mean. The share of zeros also moves as the
 * dictionary trains (on MNIST, SDL's falls from 0.79 after 16 batches to 0.74 after 60 at the
 * same λ), so a try trains for as many batches as the run will, up to a cap.
 */
import { Effect, Logger, LogLevel } from "effect"
import type { Composition } from "../../models/composition.js"
import type { ModelSettings } from "../../models/settings.js"
import { type Dataset, firstRows } from "../sources/dataset.js"
import { batchProblem, InputError } from "../sources/checks.js"
import { evaluate } from "./epoch.js"
import { trainingLoop } from "./loop.js"

export interface LambdaSearchOptions {
  /** The wanted share of zero code entries on the validation rows, in (0, 1). */
  readonly target: number
  readonly seed: number
  /** Training rows each try trains on (the first ones); default 2,000. */
  readonly sampleRows?: number
  /** Validation rows each try measures; default 1,000. */
  readonly validationRows?: number
  /** Training batches of each try, rounded up to whole epochs of the sample; default 100. */
  readonly batches?: number
  /** How close a try must come to stop early; default 0.01 (the run itself is asked to land within 0.02). */
  readonly tolerance?: number
  /** At most this many tries; default 10. */
  readonly maxTries?: number
  readonly composition?: Composition
}

export interface LambdaTry {
  readonly lambda: number
  readonly zeroFraction: number
}

export interface LambdaSearch {
  /** The try closest to the target. */
  readonly lambda: number
  readonly zeroFraction: number
  readonly target: number
  readonly tries: ReadonlyArray<LambdaTry>
}

/** The lowest and highest λ a search may try: below, codes are dense; above, every code is zero. */
const LAMBDA_RANGE = [1e-6, 10] as const

export const searchLambda = (
  model: string,
  settings: ModelSettings,
  data: { readonly train: Dataset; readonly val: Dataset },
  options: LambdaSearchOptions
) =>
  Effect.gen(function* () {
    const { target } = options
    if (!(target > 0 && target < 1)) {
      return yield* Effect.fail(
        new InputError({
          entry: "targetSparsity",
          problem: `${target} is not a share of zeros; give a number between 0 and 1 (exclusive), 0.9 say`,
          option: "targetSparsity"
        })
      )
    }
    const tolerance = options.tolerance ?? 0.01
    const train = firstRows(data.train, options.sampleRows ?? 2000)
    const tooFew = batchProblem(train.rows, settings.batchSize, "training")
    if (tooFew !== null) return yield* Effect.fail(new InputError({ entry: "targetSparsity", ...tooFew }))
    const perEpoch = Math.floor(train.rows / settings.batchSize)
    const epochs = Math.max(1, Math.ceil((options.batches ?? 100) / perEpoch))
    const val = firstRows(data.val, options.validationRows ?? 1000)
    const tries: LambdaTry[] = []

    const attempt = (lambda: number) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { model: trained } = yield* trainingLoop(
            {
              model,
              settings: { ...settings, lambda, epochs },
              epochs,
              seed: options.seed,
              ...(options.composition === undefined ? {} : { composition: options.composition })
            },
            { train, val }
          ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
          const { zeroFraction } = yield* evaluate(trained, val)
          tries.push({ lambda, zeroFraction })
          yield* Effect.logInfo(
            `target sparsity ${target}: λ ${lambda.toPrecision(3)} gives zero fraction ${zeroFraction.toFixed(3)} (${epochs} epochs on ${train.rows} rows)`
          )
          return zeroFraction
        })
      )

    const maxTries = options.maxTries ?? 10
    const close = (z: number) => Math.abs(z - target) <= tolerance
    // A bracket [lo, hi] in λ with zero fraction below the target at lo and above it at hi.
    let lo: number | null = null
    let hi: number | null = null
    let lambda = settings.lambda
    let previous: number | null = null
    for (let k = 0; k < maxTries; k++) {
      const z = yield* attempt(lambda)
      if (close(z)) break
      // Widening the bracket without moving the zero fraction: the encoder's codes saturate (a
      // short run's encoder may not follow the codes all the way), and further tries would too.
      if ((lo === null || hi === null) && previous !== null && Math.abs(z - previous) < 0.002) {
        yield* Effect.logWarning(
          `target sparsity ${target}: the validation zero fraction stays near ${z.toFixed(3)} as λ moves; the run uses the λ closest to the target`
        )
        break
      }
      previous = z
      if (z < target) lo = lambda
      else hi = lambda
      const next = lo !== null && hi !== null ? Math.sqrt(lo * hi) : lo === null ? lambda / 4 : lambda * 4
      if (next < LAMBDA_RANGE[0] || next > LAMBDA_RANGE[1]) break
      lambda = next
    }
    const best = tries.reduce((a, b) => (Math.abs(b.zeroFraction - target) < Math.abs(a.zeroFraction - target) ? b : a))
    return { lambda: best.lambda, zeroFraction: best.zeroFraction, target, tries } satisfies LambdaSearch
  })

/**
 * The settings with λ chosen for a target share of zeros when one is given (else as they are),
 * and what a run records of the search (its describe fields: the target and every try).
 */
export const settingsForTarget = (
  model: string,
  settings: ModelSettings,
  data: { readonly train: Dataset; readonly val: Dataset },
  target: number | undefined,
  seed: number,
  composition?: Composition
) =>
  target === undefined
    ? Effect.succeed({ settings, search: null, describe: {} })
    : searchLambda(model, settings, data, {
        target,
        seed,
        // As many batches as the run trains (the zero fraction moves as the dictionary learns), up to 200.
        batches: Math.min(200, settings.epochs * Math.floor(data.train.rows / settings.batchSize)),
        ...(composition === undefined ? {} : { composition })
      }).pipe(
        Effect.map((search) => ({
          settings: { ...settings, lambda: search.lambda },
          search,
          describe: { targetSparsity: target, lambdaSearch: search.tries }
        }))
      )
