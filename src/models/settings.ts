import * as Schema from "effect/Schema"
import { activationNames } from "./decoders/activation-names.js"
import { decoderChoices, decoderDeclarationOf } from "./decoders/declarations.js"
import { inferenceNames } from "./inference/declarations.js"
import type { StepRule } from "./inference/method.js"
import { optimizerDocs, optimizerFields, optimizerNames } from "./optimisers/declarations.js"
import type { SettingDocs } from "./setting-docs.js"
import { Count, NonNegative, Positive, PositiveInt } from "./terms/fields.js"
import { termDocs, termFields } from "./terms/declarations.js"

/**
 * Everything that defines a model and how it is trained, independent of the data set: the one
 * Schema from which the settings type, their validation, the checkpoint metadata and (through
 * settingDocs) the command-line options and the report's table are derived. Fields added after
 * the first release have defaults, so older checkpoints and summaries decode.
 */
export const ModelSettings = Schema.Struct({
  /** l, the code dimension. */
  codeDim: PositiveInt,
  /** Hidden widths of the decoder: [] is the linear dictionary, [1024] the paper's -NL decoder. */
  hidden: Schema.Array(PositiveInt),
  /** The decoder module (decoders/declarations.ts); "auto": linear without hidden widths, mlp with them. */
  decoder: Schema.optionalWith(Schema.Literal(...decoderChoices), { default: () => "auto", exact: true }),
  /** The activation between a decoder's layers. */
  activation: Schema.optionalWith(Schema.Literal(...activationNames), {
    default: () => activationNames[0],
    exact: true
  }),
  /** T, LISTA's number of recurrent steps. */
  listaSteps: Count,
  ...termFields,
  inference: Schema.optionalWith(Schema.Literal(...inferenceNames), { default: () => inferenceNames[0], exact: true }),
  /** The inference step η, or "lipschitz" for 1/L. */
  eta: Schema.Union(Positive, Schema.Literal("lipschitz")),
  maxSteps: PositiveInt,
  tol: NonNegative,
  batchSize: Schema.Int.pipe(Schema.greaterThanOrEqualTo(2)),
  epochs: PositiveInt,
  /** The optimizer of both the encoder and the decoder, each with its own learning rate and state. */
  optimizer: Schema.optionalWith(Schema.Literal(...optimizerNames), { default: () => optimizerNames[0], exact: true }),
  ...optimizerFields,
  decoderLr: NonNegative,
  /** Halve the decoder's learning rate every this many epochs (0: never). */
  decoderLrHalvingEvery: Count,
  encoderLr: NonNegative,
  /** Rescale the decoder's atoms (rows of every weight) to unit norm after init and every step. */
  unitNormAtoms: Schema.Boolean,
  /** Coupled weight decay on the decoder's hidden biases. */
  hiddenBiasDecay: NonNegative,
  /** Coupled weight decay on the decoder's weights (the WDL baselines). */
  decoderWeightDecay: NonNegative,
  /** Coupled weight decay on the encoder's bias c. */
  encoderBiasDecay: NonNegative
})
export type ModelSettings = typeof ModelSettings.Type
export type SettingName = keyof ModelSettings

/** Any subset of the settings, each checked as in ModelSettings: what a caller overrides. */
export const SettingsOverrides = Schema.partialWith(Schema.typeSchema(ModelSettings), { exact: true })
export type SettingsOverrides = typeof SettingsOverrides.Type

export const settingDocs: SettingDocs<ModelSettings> = {
  codeDim: { label: "code size l", help: "code dimension l", cli: "integer" },
  hidden: {
    label: "decoder hidden widths",
    help: 'decoder hidden widths (channels for conv), comma-separated; "none" for a linear decoder',
    cli: "widths"
  },
  decoder: {
    label: "decoder",
    help: "decoder module; auto: linear without hidden widths, mlp with them",
    cli: { choices: decoderChoices }
  },
  activation: {
    label: "decoder activation",
    help: "activation between the decoder's layers",
    cli: { choices: activationNames }
  },
  listaSteps: { label: "LISTA steps T", help: "LISTA recurrent steps T", cli: "integer" },
  ...termDocs,
  inference: { label: "inference", help: "inference method", cli: { choices: inferenceNames } },
  eta: {
    label: "inference step η",
    help: 'inference step: a number, or "lipschitz" for 1/L',
    cli: "number-or-lipschitz"
  },
  maxSteps: { label: "inference max steps", help: "inference iteration limit", cli: "integer" },
  tol: { label: "inference tolerance", help: "inference per-row relative tolerance", cli: "number" },
  batchSize: { label: "batch size", help: "mini-batch size", cli: "integer" },
  epochs: { label: "epochs", help: "training epochs", cli: "integer" },
  optimizer: { label: "optimizer", help: "optimizer of the encoder and the decoder", cli: { choices: optimizerNames } },
  ...optimizerDocs,
  decoderLr: { label: "decoder LR", help: "decoder learning rate", cli: "number" },
  decoderLrHalvingEvery: {
    label: "decoder LR halving (epochs)",
    help: "halve the decoder learning rate every N epochs, 0 never",
    flag: "decoder-lr-halving",
    cli: "integer"
  },
  encoderLr: { label: "encoder LR", help: "encoder learning rate", cli: "number" },
  unitNormAtoms: {
    label: "unit-norm atoms",
    help: "rescale decoder atoms to unit norm after each step",
    flag: "unit-norm",
    cli: "yes-no"
  },
  hiddenBiasDecay: { label: "hidden bias decay", help: "weight decay on the decoder's hidden biases", cli: "number" },
  decoderWeightDecay: { label: "decoder weight decay", help: "weight decay on the decoder's weights", cli: "number" },
  encoderBiasDecay: { label: "encoder bias decay", help: "weight decay on the encoder's bias", cli: "number" }
}

export const settingNames = Object.keys(settingDocs) as SettingName[]

/** The step rule inference takes. */
export const stepRule = (s: Pick<ModelSettings, "eta">): StepRule =>
  s.eta === "lipschitz" ? { kind: "lipschitz" } : { kind: "fixed", eta: s.eta }

/**
 * Settings as checkpoints and summaries of the first format hold them: the energy's weights and
 * FISTA's options in groups of their own. Flattened here so that those files keep loading.
 */
const flattenGroups = (raw: unknown): unknown => {
  if (raw === null || typeof raw !== "object" || !("energy" in raw) || !("fista" in raw)) return raw
  const { energy, fista, ...rest } = raw as {
    energy: Record<string, unknown>
    fista: { step?: { kind?: string; eta?: unknown } } & Record<string, unknown>
  }
  const { step, ...inference } = fista ?? {}
  return { ...rest, ...energy, ...inference, eta: step?.kind === "fixed" ? step.eta : step?.kind }
}

/** Settings in today's form or the first format's, as checkpoints and summaries hold them. */
export const StoredSettings = Schema.compose(
  Schema.transform(Schema.Unknown, Schema.Unknown, { strict: true, decode: flattenGroups, encode: (s) => s }),
  ModelSettings,
  { strict: false }
)

export const decodeSettings = (raw: unknown) => Schema.decodeUnknownEither(StoredSettings)(raw)

/** A preset written with only the settings it needs; the others take their defaults. */
export const preset = (s: typeof ModelSettings.Encoded): ModelSettings => Schema.decodeSync(ModelSettings)(s)

/**
 * A combination of valid settings the maths cannot use, as the field to change and why; null
 * when there is none. The encoder-distance term alone has curvature 2γ/l, so a fixed step at or
 * past l/γ diverges whatever the decoder (which happens when the code size is lowered under a
 * large preset γ).
 */
export const settingsProblem = (s: ModelSettings): { readonly field: SettingName; readonly problem: string } | null =>
  decoderDeclarationOf(s).problem(s) ??
  (s.eta !== "lipschitz" && s.gamma > 0 && s.eta >= s.codeDim / s.gamma
    ? {
        field: "eta",
        problem: `a fixed step of ${s.eta} makes inference diverge with γ = ${s.gamma} and l = ${s.codeDim} (it must stay below l/γ = ${(s.codeDim / s.gamma).toPrecision(3)}); lower it, or use "lipschitz"`
      }
    : null)
