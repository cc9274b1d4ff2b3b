import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect, Option } from "effect"
import { variantNames, variants } from "../src/models/variants.js"
import { backendNames } from "../src/pipeline/backend.js"
import { parseEta } from "../src/pipeline/config.js"

/** How a preset value reads in --help: the value for each variant, or one value shared by all. */
const presetDefault = (dataset: "mnist" | "patches", pick: (s: (typeof variants)[string]["settings"]["mnist"]) => unknown): string => {
  const values = variantNames().map((n) => [n, JSON.stringify(pick(variants[n].settings[dataset]))] as const)
  const distinct = new Set(values.map(([, v]) => v))
  return distinct.size === 1 ? `default ${values[0][1]}` : `default per model: ${values.map(([n, v]) => `${n} ${v}`).join(", ")}`
}

const num = (name: string, what: string, pick: Parameters<typeof presetDefault>[1], dataset: "mnist" | "patches") =>
  Options.float(name).pipe(Options.withDescription(`${what} (${presetDefault(dataset, pick)})`), Options.optional)
const int = (name: string, what: string, pick: Parameters<typeof presetDefault>[1], dataset: "mnist" | "patches") =>
  Options.integer(name).pipe(Options.withDescription(`${what} (${presetDefault(dataset, pick)})`), Options.optional)

/**
 * An option that takes one of a few names. @effect/cli's own choice option refuses another value
 * with "Expected one of the following cases: …", which does not say which option it was; this one
 * says "option --NAME: "VALUE" is not allowed; choose one of …".
 */
export const choiceOption = <const C extends readonly [string, ...string[]]>(name: string, choices: C): Options.Options<C[number]> =>
  Options.text(name).pipe(
    Options.mapEffect((value) =>
      (choices as readonly string[]).includes(value)
        ? Effect.succeed(value as C[number])
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`option --${name}: ${JSON.stringify(value)} is not allowed; choose one of ${choices.join(", ")}`)))
    )
  )

/** Every hyperparameter of a variant, each overriding its preset (SPEC §5) when given. */
export const settingsOptions = (dataset: "mnist" | "patches") => ({
  codeDim: int("code-dim", "code dimension l", (s) => s.codeDim, dataset),
  hidden: Options.text("hidden").pipe(
    Options.withDescription(`decoder hidden widths, comma-separated; "none" for a linear decoder (${presetDefault(dataset, (s) => s.hidden.join(",") || "none")})`),
    Options.optional
  ),
  listaSteps: int("lista-steps", "LISTA recurrent steps T", (s) => s.listaSteps, dataset),
  lambda: num("lambda", "sparsity weight λ", (s) => s.energy.lambda, dataset),
  beta: num("beta", "variance hinge weight β", (s) => s.energy.beta, dataset),
  tau: num("tau", "variance target τ", (s) => s.energy.tau, dataset),
  gamma: num("gamma", "encoder-distance weight γ", (s) => s.energy.gamma, dataset),
  eta: Options.text("eta").pipe(
    Options.withDescription(`FISTA step: a number, or "lipschitz" for 1/L (${presetDefault(dataset, (s) => (s.fista.step.kind === "fixed" ? s.fista.step.eta : "lipschitz"))})`),
    Options.optional
  ),
  maxSteps: int("max-steps", "FISTA iteration limit", (s) => s.fista.maxSteps, dataset),
  tol: num("tol", "FISTA per-row relative tolerance", (s) => s.fista.tol, dataset),
  batchSize: int("batch-size", "mini-batch size", (s) => s.batchSize, dataset),
  decoderLr: num("decoder-lr", "decoder Adam learning rate", (s) => s.decoderLr, dataset),
  decoderLrHalvingEvery: int("decoder-lr-halving", "halve the decoder learning rate every N epochs, 0 never", (s) => s.decoderLrHalvingEvery, dataset),
  encoderLr: num("encoder-lr", "encoder Adam learning rate", (s) => s.encoderLr, dataset),
  unitNormAtoms: choiceOption("unit-norm", ["yes", "no"]).pipe(
    Options.withDescription(`rescale decoder atoms to unit norm after each step: yes or no (${presetDefault(dataset, (s) => (s.unitNormAtoms ? "yes" : "no"))})`),
    Options.optional
  ),
  hiddenBiasDecay: num("hidden-bias-decay", "weight decay on the decoder's hidden biases", (s) => s.hiddenBiasDecay, dataset),
  decoderWeightDecay: num("decoder-weight-decay", "weight decay on the decoder's weights", (s) => s.decoderWeightDecay, dataset),
  encoderBiasDecay: num("encoder-bias-decay", "weight decay on the encoder's bias", (s) => s.encoderBiasDecay, dataset)
})

type Parsed = { readonly [K in keyof ReturnType<typeof settingsOptions>]: Option.Option<unknown> }

/** The given options as a plain overrides object, for Schema decoding in resolveSettings. */
export const overridesFrom = (o: Parsed): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(settingsOptions("mnist")) as Array<keyof Parsed>) {
    const value = o[key]
    if (Option.isNone(value)) continue
    const v = value.value
    if (key === "hidden") {
      const text = String(v).trim()
      out.hidden = text === "none" || text === "" ? [] : text.split(",").map((w) => Number(w.trim()))
    } else if (key === "eta") out.eta = parseEta(String(v))
    else if (key === "unitNormAtoms") out.unitNormAtoms = v === "yes"
    else out[key] = v
  }
  return out
}

export const modelOption = choiceOption("model", variantNames() as [string, ...string[]]).pipe(
  Options.withDescription(`one of ${variantNames().join(", ")}; default vdl. ${variantNames().map((n) => `${n}: ${variants[n].description}`).join("; ")}`),
  Options.withDefault("vdl")
)
export const seedOption = Options.integer("seed").pipe(Options.withDescription("one seed for data split and order, initialisation and noise (default 31)"), Options.withDefault(31))
export const backendOption = choiceOption("backend", backendNames).pipe(
  Options.withDescription(`compute backend: ${backendNames.join(", ")}; default: the fastest that loads, in that order`),
  Options.optional
)
export const outOption = Options.text("out").pipe(Options.withDescription("run folder (default runs/<model>-<date>-<time>)"), Options.optional)

export const defaultRunFolder = (model: string): string => {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)
  return `runs/${model}-${stamp}`
}
