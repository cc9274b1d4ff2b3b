import { Effect, Either } from "effect"
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { decodeSettings, type ModelSettings } from "../../models/settings.js"
import { resolveSettings } from "../train/config.js"
import type { MnistSource } from "../sources/mnist.js"
import { ConfigError, type SettingsError } from "../errors.js"
import type { RunSummary } from "../train/run.js"
import type { ExpectedData, ExpectedRun, RunRequest } from "./job.js"
import { firstDifference } from "../../data/first-difference.js"

export type { ExpectedData, ExpectedRun, JobCommand, RunRequest } from "./job.js"

export interface SweepSpec {
  readonly models: ReadonlyArray<string>
  readonly lambdas: ReadonlyArray<number>
  /** "preset": each model's own number of epochs. */
  readonly epochs: number | "preset"
  readonly out: string
  readonly seed: number
  readonly source: MnistSource
  readonly trainSize: number | null
  readonly backend: string | null
  /** Setting overrides shared by every run (λ excepted), as resolveSettings takes them. */
  readonly overrides: Readonly<Record<string, unknown>>
  /** Further arguments for every run, as given on the sweep's command line. */
  readonly passthrough: ReadonlyArray<string>
}

/** `0.005` → `sdl-lambda0.005`: the shortest form that reads back as the same number. */
export const runName = (model: string, lambda: number): string => `${model}-lambda${String(lambda)}`

const duplicate = <A>(xs: ReadonlyArray<A>): A | undefined => xs.find((x, i) => xs.indexOf(x) !== i)

/**
 * Every (model, λ) combination with its resolved settings. Settings are resolved here, before any
 * process starts, so that a bad combination fails once with the option to fix rather than once
 * per run.
 */
export const planSweep = (spec: SweepSpec): Effect.Effect<ReadonlyArray<RunRequest>, ConfigError | SettingsError> =>
  Effect.gen(function* () {
    if (spec.models.length === 0)
      return yield* Effect.fail(
        new ConfigError({ option: "--model", problem: "no model given; pass a comma-separated list such as sdl,vdl" })
      )
    if (spec.lambdas.length === 0)
      return yield* Effect.fail(
        new ConfigError({
          option: "--lambda",
          problem: "no λ given; pass a comma-separated list such as 0.005,0.01,0.02"
        })
      )
    const twiceModel = duplicate(spec.models)
    if (twiceModel !== undefined)
      return yield* Effect.fail(
        new ConfigError({ option: "--model", problem: `${twiceModel} is listed twice; list each model once` })
      )
    const twiceLambda = duplicate(spec.lambdas)
    if (twiceLambda !== undefined)
      return yield* Effect.fail(
        new ConfigError({ option: "--lambda", problem: `${twiceLambda} is listed twice; list each value once` })
      )
    if (spec.epochs !== "preset" && !(Number.isInteger(spec.epochs) && spec.epochs >= 1)) {
      return yield* Effect.fail(
        new ConfigError({ option: "--epochs", problem: `${spec.epochs} is not a positive whole number of epochs` })
      )
    }
    const root = resolve(spec.out)
    const runs: RunRequest[] = []
    for (const model of spec.models) {
      for (const lambda of spec.lambdas) {
        const settings = yield* resolveSettings(model, "mnist", { ...spec.overrides, lambda })
        const epochs = spec.epochs === "preset" ? settings.epochs : spec.epochs
        const name = runName(model, lambda)
        const out = join(root, name)
        runs.push({
          name,
          model,
          lambda,
          command: "train",
          out,
          args: [
            "--model",
            model,
            "--lambda",
            String(lambda),
            "--epochs",
            String(epochs),
            "--out",
            out,
            ...spec.passthrough
          ],
          expected: {
            model,
            seed: spec.seed,
            epochs,
            settings: { ...settings, epochs },
            data: { _tag: "mnist", mnist: spec.source, trainSize: spec.trainSize },
            backend: spec.backend
          }
        })
      }
    }
    return runs
  })

/**
 * The command-line words to hand every run unchanged: all but the sweep's own options (`own`, each
 * taking a value), with the values of `paths` made absolute so that a run started in another
 * directory reads the same files. Both `--flag value` and `--flag=value` are understood.
 */
export const passthroughArgs = (
  argv: ReadonlyArray<string>,
  own: ReadonlyArray<string>,
  paths: ReadonlyArray<string>
): string[] => {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]
    const eq = word.startsWith("--") ? word.indexOf("=") : -1
    const flag = eq > 0 ? word.slice(0, eq) : word
    const inline = eq > 0 ? word.slice(eq + 1) : undefined
    if (own.includes(flag)) {
      if (inline === undefined) i += 1
    } else if (paths.includes(flag) && (inline !== undefined || i + 1 < argv.length)) {
      out.push(flag, resolve(inline ?? argv[++i]))
    } else {
      out.push(word)
    }
  }
  return out
}

/** A summary.json as the sweep reads it back; the run writes more than the sweep needs. */
export type FinishedSummary = RunSummary & {
  readonly seed: number
  readonly settings: ModelSettings
  readonly data: {
    readonly mnist?: unknown
    readonly trainSize?: unknown
    readonly train?: number
    readonly val?: number
    readonly test?: number
    readonly arrow?: { readonly file?: unknown }
    readonly images?: { readonly dir?: unknown }
    readonly patchFile?: unknown
  }
}

/** The data a summary records, in the form of what was expected, so that the two compare field by field. */
const recordedData = (expected: ExpectedData, data: FinishedSummary["data"] | undefined): unknown => {
  if (expected._tag === "mnist") return { _tag: "mnist", mnist: data?.mnist, trainSize: data?.trainSize }
  const rows = data === undefined ? undefined : (data.train ?? 0) + (data.val ?? 0) + (data.test ?? 0)
  return {
    _tag: "file",
    path: data?.arrow?.file ?? data?.images?.dir ?? data?.patchFile,
    ...(expected.rows === undefined ? {} : { rows })
  }
}

export type RunState =
  | { readonly finished: true; readonly summary: FinishedSummary }
  | { readonly finished: false; readonly reason: string }

/** Whether `out` holds a finished run of exactly `expected`: a summary.json that matches. */
export const runState = (out: string, expected: ExpectedRun): Effect.Effect<RunState> =>
  Effect.promise(async (): Promise<RunState> => {
    let text: string
    try {
      text = await readFile(join(out, "summary.json"), "utf8")
    } catch {
      return { finished: false, reason: "it has no summary.json yet" }
    }
    let summary: FinishedSummary
    try {
      summary = JSON.parse(text)
    } catch (e) {
      return {
        finished: false,
        reason: `its summary.json does not parse (${e instanceof Error ? e.message : String(e)})`
      }
    }
    const actual = {
      model: summary.model,
      seed: summary.seed,
      epochs: summary.epochs,
      // A summary of the first format holds its settings grouped; read as today's, they still match.
      settings: Either.getOrElse(decodeSettings(summary.settings), () => summary.settings),
      data: recordedData(expected.data, summary.data),
      backend: expected.backend === null ? null : summary.backend
    }
    const diff = firstDifference(expected, actual)
    return diff === undefined
      ? { finished: true, summary }
      : { finished: false, reason: `its summary.json is of another run: ${diff}` }
  })
