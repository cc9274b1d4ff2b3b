/**
 * How every training command continues a stopped run (--resume FOLDER): each option given besides
 * --resume and --epochs must agree with the run, since a resumed run keeps its model, seed,
 * settings, backend and folder (each command adds the checks of its own data); then the run goes
 * on from its last.safetensors on the data it records.
 */
import { Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { resolve } from "node:path"
import type { ModelSettings } from "../models/settings.js"
import { decodeOverrides, settingsConflict } from "../pipeline/train/config.js"
import type { Dataset, Splits } from "../pipeline/sources/dataset.js"
import type { ResumePoint } from "../pipeline/train/resume.js"
import {
  asOptionError,
  backendOption,
  optionFor,
  outOption,
  overridesFrom,
  resumableModelOption,
  resumableSeedOption,
  overwriteOption,
  resumeConflictError,
  typed
} from "./options.js"

/**
 * The options of a training command that a resume checks or takes: model and seed optional rather
 * than defaulted, so that a resume can tell a given option from a default. `keeps` names the data
 * a resumed run keeps.
 */
export const resumableRunOptions = (keeps: string) => ({
  model: resumableModelOption,
  out: outOption,
  overwrite: overwriteOption,
  seed: resumableSeedOption,
  backend: backendOption,
  resume: Options.text("resume").pipe(
    Options.withDescription(
      `continue the run in this folder from its last.safetensors, with its own settings and ${keeps}; only --epochs (the new total) may be given besides`
    ),
    Options.optional
  )
})

/** The options a training command shares; settings are the command's settings options. */
export interface ResumableOptions {
  readonly model: Option.Option<string>
  readonly seed: Option.Option<number>
  readonly backend: Option.Option<string>
  readonly out: Option.Option<string>
}

/** Whether a given option differs from the run's value (an option not given never does). */
export const differs = <A>(
  given: Option.Option<A>,
  was: A,
  same: (a: A, b: A) => boolean = (a, b) => a === b
): boolean => Option.isSome(given) && !same(given.value, was)

export const samePath = (a: string, b: string): boolean => resolve(a) === resolve(b)

export const checkCommonAgainstRun = (o: ResumableOptions & Parameters<typeof overridesFrom>[0], point: ResumePoint) =>
  Effect.gen(function* () {
    const stored = point.progress
    if (differs(o.model, point.snapshot.model))
      return yield* Effect.fail(resumeConflictError(point, "--model", Option.getOrThrow(o.model), point.snapshot.model))
    if (differs(o.seed, stored.seed))
      return yield* Effect.fail(
        resumeConflictError(point, "--seed", String(Option.getOrThrow(o.seed)), String(stored.seed))
      )
    if (Option.isSome(o.backend) && o.backend.value !== stored.backend)
      return yield* Effect.fail(resumeConflictError(point, "--backend", o.backend.value, stored.backend))
    if (differs(o.out, point.folder, samePath))
      return yield* Effect.fail(resumeConflictError(point, "--out", Option.getOrThrow(o.out), point.folder))
    const given = yield* decodeOverrides(yield* overridesFrom(o)).pipe(Effect.mapError(asOptionError))
    const conflict = settingsConflict(point.snapshot.settings, given)
    if (conflict !== null) {
      const { setting } = conflict
      return yield* Effect.fail(
        resumeConflictError(point, optionFor(setting), typed(setting, conflict.given), typed(setting, conflict.stored))
      )
    }
  })

/** The run continued to `epochs` (given: the new total; else the run's own), on the splits its data loads. */
export const continueRun = <E, R>(
  point: ResumePoint,
  epochsGiven: Option.Option<number>,
  loadSplits: (settings: ModelSettings) => Effect.Effect<Splits<Dataset>, E, R>
) =>
  Effect.gen(function* () {
    // Loaded when a run continues, not for --help.
    const [{ BackendLive, parseBackendName }, { trainRun }] = yield* Effect.promise(() =>
      Promise.all([import("../pipeline/backend/backend.js"), import("../pipeline/train/run.js")])
    )
    const backend = yield* parseBackendName(point.progress.backend)
    const epochs = Option.getOrElse(epochsGiven, () => point.progress.epochs)
    const settings = { ...point.snapshot.settings, epochs }
    const { next } = point.progress
    yield* Effect.logInfo(
      `resuming ${point.folder} (${point.snapshot.model}) at epoch ${next.epoch + 1} batch ${next.batch}, for ${epochs} epochs in all`
    )
    const splits = yield* loadSplits(settings)
    return yield* trainRun(
      {
        model: point.snapshot.model,
        settings,
        epochs,
        seed: point.progress.seed,
        out: point.folder,
        describe: point.progress.describe,
        resume: point
      },
      splits
    ).pipe(Effect.provide(BackendLive(backend)))
  })
