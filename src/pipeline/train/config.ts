import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { canonicalJson } from "../../data/canonical-json.js"
import { type ModelSettings, type SettingName, SettingsOverrides, settingsProblem } from "../../models/settings.js"
import { isVariantName, type PresetFamily, presetFor, variantNames, variants } from "../../models/variants.js"
import { SettingsError } from "../errors.js"

/** The first thing decoding refused, as the setting it is about. */
export const settingsIssue = (e: ParseResult.ParseError): SettingsError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  return new SettingsError({
    setting: issue?.path.length ? String(issue.path[0]) : "settings",
    problem: issue?.message ?? e.message
  })
}

/** Overrides from JSON-like data, each checked as ModelSettings checks it. */
export const decodeOverrides = (raw: unknown): Effect.Effect<SettingsOverrides, SettingsError> =>
  Schema.decodeUnknownEither(SettingsOverrides, { onExcessProperty: "error" })(raw).pipe(Either.mapLeft(settingsIssue))

/**
 * A variant's preset for a family of data (its own, or the default family's when it has none for
 * that family: presetFor) with the overrides applied. Decoding rejects values the maths cannot use
 * (a negative λ, a zero batch) before any work starts.
 */
export const resolveSettings = (
  model: string,
  family: PresetFamily,
  raw: unknown
): Effect.Effect<ModelSettings, SettingsError> =>
  Effect.gen(function* () {
    if (!isVariantName(model)) {
      return yield* Effect.fail(
        new SettingsError({
          setting: "model",
          problem: `unknown model ${JSON.stringify(model)}; choose one of ${variantNames().join(", ")}`
        })
      )
    }
    const overrides = yield* decodeOverrides(raw)
    const settings: ModelSettings = { ...presetFor(variants[model], family).settings, ...overrides }
    const problem = settingsProblem(settings)
    if (problem !== null)
      return yield* Effect.fail(new SettingsError({ setting: problem.field, problem: problem.problem }))
    return settings
  })

/**
 * The first given setting that differs from a run's own: a resumed run continues as it was, so a
 * change of settings is a new run. Epochs are not a setting of the maths and may change.
 */
export const settingsConflict = (
  stored: ModelSettings,
  given: SettingsOverrides
): { readonly setting: SettingName; readonly given: unknown; readonly stored: unknown } | null => {
  for (const setting of Object.keys(given) as SettingName[]) {
    if (setting === "epochs" || given[setting] === undefined) continue
    if (canonicalJson(stored[setting]) !== canonicalJson(given[setting]))
      return { setting, given: given[setting], stored: stored[setting] }
  }
  return null
}
