import { Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { resolve } from "node:path"
import { type ModelSettings, type SettingName, settingDocs, settingNames } from "../models/settings.js"
import type { SettingDoc } from "../models/setting-docs.js"
import { type PresetFamily, presetFor, variantNames, variants } from "../models/variants.js"
import { backendNames } from "../pipeline/choices.js"
import { resolveSettings } from "../pipeline/train/config.js"
import { ConfigError, type SettingsError } from "../pipeline/errors.js"
import type { MnistSource } from "../pipeline/sources/mnist.js"
import type { ResumePoint } from "../pipeline/train/resume.js"

/**
 * An option that takes one of a few names. A refused value is named after its option from the
 * option's own definition (entry.ts commandChoices), so this is Options.choice and nothing more.
 */
export const choiceOption = <const C extends readonly [string, ...string[]]>(
  name: string,
  choices: C
): Options.Options<C[number]> => Options.choice(name, choices)

/**
 * An option given any number of times, none included. Options.repeated alone takes none as well,
 * but @effect/cli's synopsis then shows it as required (`--images text...`); a default of no
 * values marks it optional (`[--images text...]`) and parses the same.
 */
export const zeroOrMore = <A>(option: Options.Options<A>): Options.Options<Array<A>> =>
  option.pipe(Options.repeated, Options.withDefault([] as Array<A>))

const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** The command-line flag of a setting (or "--model" for the variant), for messages. */
export const optionFor = (setting: string): string =>
  setting in settingDocs
    ? `--${settingDocs[setting as SettingName].flag ?? kebab(setting)}`
    : /^[a-z][A-Za-z]*$/.test(setting)
      ? `--${kebab(setting)}`
      : setting

/** A setting's value as it is typed on a command line. */
export const typed = (setting: string, value: unknown): string => {
  const doc: SettingDoc | undefined = settingDocs[setting as SettingName]
  if (doc?.cli === "yes-no") return value ? "yes" : "no"
  if (doc?.cli === "widths")
    return (value as ReadonlyArray<number>).length === 0 ? "none" : (value as ReadonlyArray<number>).join(",")
  return String(value)
}

/** A library error about a setting, as the option that sets it. */
export const asOptionError = (e: SettingsError): ConfigError =>
  new ConfigError({ option: optionFor(e.setting), problem: e.problem })

/** Kept here too for the callers that read it from the options (src/cli/errors.ts defines it). */
export { commandLineMessage } from "./errors.js"

/** How a preset value reads in --help: the value for each variant, or one value shared by all. */
const presetDefault = (family: PresetFamily, setting: SettingName): string => {
  const values = variantNames().map(
    (n) => [n, typed(setting, presetFor(variants[n], family).settings[setting])] as const
  )
  const distinct = new Set(values.map(([, v]) => v))
  return distinct.size === 1
    ? `default ${values[0][1]}`
    : `default per model: ${values.map(([n, v]) => `${n} ${v}`).join(", ")}`
}

const optionOf = (family: PresetFamily, setting: SettingName): Options.Options<Option.Option<string | number>> => {
  const doc = settingDocs[setting]
  const flag = doc.flag ?? kebab(setting)
  const base: Options.Options<string | number> =
    doc.cli === "integer"
      ? Options.integer(flag)
      : doc.cli === "number"
        ? Options.float(flag)
        : doc.cli === "yes-no"
          ? choiceOption(flag, ["yes", "no"])
          : typeof doc.cli === "object"
            ? choiceOption(flag, doc.cli.choices as [string, ...string[]])
            : Options.text(flag)
  return base.pipe(Options.withDescription(`${doc.help} (${presetDefault(family, setting)})`), Options.optional)
}

/** Every setting of a model (epochs apart, which each command words itself), each overriding its preset when given. */
export const settingsOptions = (family: PresetFamily) =>
  Object.fromEntries(settingNames.filter((n) => n !== "epochs").map((n) => [n, optionOf(family, n)])) as {
    readonly [K in Exclude<SettingName, "epochs">]: Options.Options<Option.Option<string | number>>
  }

type Parsed = { readonly [K in Exclude<SettingName, "epochs">]: Option.Option<string | number> }

/** One option's text as the setting's value; text the setting cannot take is refused naming the option. */
const valueOf = (setting: SettingName, raw: string | number): Effect.Effect<unknown, ConfigError> => {
  const cli = settingDocs[setting].cli
  const refuse = (what: string) =>
    Effect.fail(
      new ConfigError({ option: optionFor(setting), problem: `${JSON.stringify(raw)} is not allowed: ${what}` })
    )
  if (cli === "yes-no") return Effect.succeed(raw === "yes")
  if (cli === "widths") {
    const text = String(raw).trim()
    if (!/^(none|\d+(\s*,\s*\d+)*)?$/.test(text))
      return refuse(
        'give hidden widths as positive integers separated by commas (1024 or 1024,512), or "none" for a linear decoder'
      )
    return Effect.succeed(text === "none" || text === "" ? [] : text.split(",").map((w) => Number(w.trim())))
  }
  if (cli === "number-or-lipschitz") {
    if (raw === "lipschitz") return Effect.succeed(raw)
    const x = Number(raw)
    return Number.isFinite(x) && x > 0
      ? Effect.succeed(x)
      : refuse('give a positive number, or "lipschitz" for the step 1/L')
  }
  return Effect.succeed(raw)
}

/** The given options as a plain overrides object (Partial<ModelSettings>), for resolveSettings to check. */
export const overridesFrom = (
  o: Partial<Parsed>
): Effect.Effect<Partial<Record<keyof ModelSettings, unknown>>, ConfigError> =>
  Effect.gen(function* () {
    const out: Partial<Record<keyof ModelSettings, unknown>> = {}
    for (const setting of settingNames) {
      const given = (o as Partial<Record<SettingName, Option.Option<string | number>>>)[setting]
      if (given === undefined || Option.isNone(given)) continue
      out[setting] = yield* valueOf(setting, given.value)
    }
    return out
  })

export const DEFAULT_MODEL = "vdl"
export const DEFAULT_SEED = 31
const modelChoice = choiceOption("model", variantNames() as [string, ...string[]]).pipe(
  Options.withDescription(
    `default ${DEFAULT_MODEL}. ${variantNames()
      .map((n) => `${n}: ${variants[n].description}`)
      .join("; ")}`
  )
)
const seedChoice = Options.integer("seed").pipe(
  Options.withDescription(`one seed for data split and order, initialisation and noise (default ${DEFAULT_SEED})`)
)
export const modelOption = modelChoice.pipe(Options.withDefault(DEFAULT_MODEL))
export const seedOption = seedChoice.pipe(Options.withDefault(DEFAULT_SEED))
/** For commands that resume: optional rather than defaulted, so that a resume can tell a given option from a default. */
export const resumableModelOption = modelChoice.pipe(Options.optional)
export const resumableSeedOption = seedChoice.pipe(Options.optional)
export const backendOption = choiceOption("backend", backendNames).pipe(
  Options.withDescription(`compute backend; default: the fastest that loads, in the order listed`),
  Options.optional
)
export const targetSparsityOption = Options.float("target-sparsity").pipe(
  Options.withDescription(
    "choose λ so that the validation codes have this share of zeros (0.9, say): a short search on a sample of the training rows before the run; summary.json records the λ chosen"
  ),
  Options.optional
)
export const outOption = Options.text("out").pipe(
  Options.withDescription("run folder (default runs/<model>-<date>-<time>)"),
  Options.optional
)
export const overwriteOption = Options.boolean("overwrite").pipe(
  Options.withDescription(
    "start afresh even if --out holds another run (other settings, seed, data or epochs), replacing it; without it such a folder is refused"
  )
)

/** --download of the commands that hand MNIST to their runs (sweep, paper); --mnist-dir is each one's own. */
export const downloadOption = Options.boolean("download").pipe(
  Options.withDescription("full MNIST, downloaded and cached")
)

/** The MNIST of --mnist-dir (made absolute, for runs started elsewhere) or --download, not both; else the embedded digits. */
export const mnistSourceFrom = (
  mnistDir: Option.Option<string>,
  download: boolean
): Effect.Effect<MnistSource, ConfigError> =>
  Option.isSome(mnistDir) && download
    ? Effect.fail(new ConfigError({ option: "--download", problem: "give either --mnist-dir or --download, not both" }))
    : Effect.succeed(
        Option.isSome(mnistDir)
          ? { kind: "dir", dir: resolve(mnistDir.value) }
          : download
            ? { kind: "download" }
            : { kind: "embedded" }
      )

export const defaultRunFolder = (model: string): string => {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)
  return `runs/${model}-${stamp}`
}

/** A variant's settings with the given options applied; a refused setting is reported as its option. */
export const settingsFromOptions = (model: string, family: PresetFamily, o: Partial<Parsed>) =>
  Effect.gen(function* () {
    const overrides = yield* overridesFrom(o)
    return yield* resolveSettings(model, family, overrides).pipe(Effect.mapError(asOptionError))
  })

/** The message for an option that would change the run being resumed. */
export const resumeConflictError = (point: ResumePoint, option: string, given: string, stored: string) =>
  new ConfigError({
    option,
    problem: `the run in ${point.folder} was trained with ${option} ${stored}, not ${given}; a resumed run keeps its settings (only --epochs may change). Drop ${option} to continue it, or start a new run with another --out`
  })

/** A count given below its least value, refused naming the option. */
export const atLeast = (
  option: string,
  value: Option.Option<number>,
  least: number,
  what: string
): Effect.Effect<void, ConfigError> =>
  Option.isSome(value) && value.value < least
    ? Effect.fail(new ConfigError({ option, problem: `${value.value} is not allowed: ${what}` }))
    : Effect.void
