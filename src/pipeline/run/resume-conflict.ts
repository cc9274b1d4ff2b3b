import type { ModelSettings } from "../../models/settings.js"
import type { SettingsOverrides } from "../config.js"
import { ConfigError } from "../errors.js"
import type { ResumePoint } from "./resume.js"

/** JSON with sorted keys, for comparing settings whatever order their fields were built in. */
export const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x) => (x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x))

/** A setting as the option that sets it reads it, so a given option can be compared with a stored run. */
const settingValue = (s: ModelSettings, key: keyof SettingsOverrides): unknown => {
  switch (key) {
    case "codeDim": return s.codeDim
    case "hidden": return s.hidden
    case "listaSteps": return s.listaSteps
    case "lambda": return s.energy.lambda
    case "beta": return s.energy.beta
    case "tau": return s.energy.tau
    case "gamma": return s.energy.gamma
    case "eta": return s.fista.step.kind === "fixed" ? s.fista.step.eta : "lipschitz"
    case "maxSteps": return s.fista.maxSteps
    case "tol": return s.fista.tol
    case "batchSize": return s.batchSize
    case "epochs": return s.epochs
    case "decoderLr": return s.decoderLr
    case "decoderLrHalvingEvery": return s.decoderLrHalvingEvery
    case "encoderLr": return s.encoderLr
    case "unitNormAtoms": return s.unitNormAtoms
    case "hiddenBiasDecay": return s.hiddenBiasDecay
    case "decoderWeightDecay": return s.decoderWeightDecay
    case "encoderBiasDecay": return s.encoderBiasDecay
  }
}

const optionName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

const shown = (v: unknown): string => (typeof v === "boolean" ? (v ? "yes" : "no") : Array.isArray(v) ? (v.length === 0 ? "none" : v.join(",")) : String(v))

/**
 * The first setting given on the command line that differs from the run being resumed: a resume
 * continues the run as it was, so a change of settings is a new run. Epochs are not settings of
 * the maths and may change.
 */
export const resumeConflict = (point: ResumePoint, given: SettingsOverrides): ConfigError | null => {
  for (const key of Object.keys(given) as Array<keyof SettingsOverrides>) {
    if (key === "epochs" || given[key] === undefined) continue
    const stored = settingValue(point.snapshot.settings, key)
    if (canonical(stored) !== canonical(given[key])) {
      return conflictError(point, optionName(key), shown(given[key]), shown(stored))
    }
  }
  return null
}

/** The message for an option that would change the run being resumed. */
export const conflictError = (point: ResumePoint, option: string, given: string, stored: string) =>
  new ConfigError({
    option,
    problem: `the run in ${point.folder} was trained with ${option} ${stored}, not ${given}; a resumed run keeps its settings (only --epochs may change). Drop ${option} to continue it, or start a new run with another --out`
  })
