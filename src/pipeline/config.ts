import { Effect, Either, ParseResult, Schema } from "effect"
import type { ModelSettings } from "../models/settings.js"
import { type Dataset as DatasetKind, variantNames, variants } from "../models/variants.js"
import { ConfigError } from "./errors.js"

const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegative = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())
const Positive = Schema.Number.pipe(Schema.positive(), Schema.finite())

/**
 * Overrides of a variant's preset, all optional. Decoding rejects values the maths cannot use
 * (a negative λ, a zero batch) before any work starts.
 */
export const SettingsOverrides = Schema.Struct({
  codeDim: Schema.optional(PositiveInt),
  hidden: Schema.optional(Schema.Array(PositiveInt)),
  listaSteps: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  lambda: Schema.optional(NonNegative),
  beta: Schema.optional(NonNegative),
  tau: Schema.optional(NonNegative),
  gamma: Schema.optional(NonNegative),
  eta: Schema.optional(Schema.Union(Positive, Schema.Literal("lipschitz"))),
  maxSteps: Schema.optional(PositiveInt),
  tol: Schema.optional(NonNegative),
  batchSize: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(2))),
  epochs: Schema.optional(PositiveInt),
  decoderLr: Schema.optional(NonNegative),
  decoderLrHalvingEvery: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  encoderLr: Schema.optional(NonNegative),
  unitNormAtoms: Schema.optional(Schema.Boolean),
  hiddenBiasDecay: Schema.optional(NonNegative),
  decoderWeightDecay: Schema.optional(NonNegative),
  encoderBiasDecay: Schema.optional(NonNegative)
})
export type SettingsOverrides = typeof SettingsOverrides.Type

/** "lipschitz" or a positive number, as typed on a command line. */
export const parseEta = (raw: string): number | "lipschitz" => (raw === "lipschitz" ? raw : Number(raw))

const firstIssue = (e: ParseResult.ParseError): ConfigError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  const option = issue?.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : "settings"
  return new ConfigError({ option, problem: issue?.message ?? e.message })
}

/** A variant's preset for a data set with the overrides applied. */
export const resolveSettings = (
  model: string,
  dataset: DatasetKind,
  raw: unknown
): Effect.Effect<ModelSettings, ConfigError> =>
  Effect.gen(function* () {
    const variant = variants[model]
    if (variant === undefined) {
      return yield* Effect.fail(new ConfigError({ option: "--model", problem: `unknown model ${JSON.stringify(model)}; choose one of ${variantNames().join(", ")}` }))
    }
    const decoded = Schema.decodeUnknownEither(SettingsOverrides)(raw)
    if (Either.isLeft(decoded)) return yield* Effect.fail(firstIssue(decoded.left))
    const o = decoded.right
    const base = variant.settings[dataset]
    const settings: ModelSettings = {
      ...base,
      codeDim: o.codeDim ?? base.codeDim,
      hidden: o.hidden ?? base.hidden,
      listaSteps: o.listaSteps ?? base.listaSteps,
      energy: {
        lambda: o.lambda ?? base.energy.lambda,
        beta: o.beta ?? base.energy.beta,
        tau: o.tau ?? base.energy.tau,
        gamma: o.gamma ?? base.energy.gamma
      },
      fista: {
        maxSteps: o.maxSteps ?? base.fista.maxSteps,
        tol: o.tol ?? base.fista.tol,
        step: o.eta === undefined ? base.fista.step : o.eta === "lipschitz" ? { kind: "lipschitz" } : { kind: "fixed", eta: o.eta }
      },
      batchSize: o.batchSize ?? base.batchSize,
      epochs: o.epochs ?? base.epochs,
      decoderLr: o.decoderLr ?? base.decoderLr,
      decoderLrHalvingEvery: o.decoderLrHalvingEvery ?? base.decoderLrHalvingEvery,
      encoderLr: o.encoderLr ?? base.encoderLr,
      unitNormAtoms: o.unitNormAtoms ?? base.unitNormAtoms,
      hiddenBiasDecay: o.hiddenBiasDecay ?? base.hiddenBiasDecay,
      decoderWeightDecay: o.decoderWeightDecay ?? base.decoderWeightDecay,
      encoderBiasDecay: o.encoderBiasDecay ?? base.encoderBiasDecay
    }
    // The encoder-distance term alone has curvature 2γ/l: a fixed step at or past l/γ diverges
    // whatever the decoder, which happens when --code-dim is lowered under a large preset γ.
    const { step } = settings.fista
    const { gamma } = settings.energy
    if (step.kind === "fixed" && gamma > 0 && step.eta >= settings.codeDim / gamma) {
      return yield* Effect.fail(
        new ConfigError({
          option: "--eta",
          problem: `a fixed FISTA step of ${step.eta} makes inference diverge with γ = ${gamma} and l = ${settings.codeDim} (it must stay below l/γ = ${(settings.codeDim / gamma).toPrecision(3)}); lower --eta, or pass --eta lipschitz`
        })
      )
    }
    return settings
  })
