/**
 * What a queue worker checks of a job before its run starts, with the run command's own defaults:
 * the model, seed, settings, epochs, data and backend its arguments give must be those the job
 * expects its run to record. Otherwise the run would train to the end and only then be found to
 * be another run than the one asked for.
 */
import { Effect, Option } from "effect"
import { resolve } from "node:path"
import { firstDifference } from "../data/first-difference.js"
import { type SettingName, settingDocs, settingNames } from "../models/settings.js"
import type { CheckedRun } from "../pipeline/jobs/job.js"
import { DEFAULT_MODEL, DEFAULT_SEED, optionFor, settingsFromOptions } from "./options.js"
import { DEFAULT_EPOCHS as OWN_DATA_EPOCHS } from "./commands/train-data.js"
import { EMBEDDED_EPOCHS } from "./commands/train.js"

type Problem = { readonly field: string; readonly problem: string }

/** The arguments as option → value (true for a switch); the worker has checked their form. */
const argumentMap = (args: ReadonlyArray<string>): ReadonlyMap<string, string | true> => {
  const map = new Map<string, string | true>()
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    const eq = word.indexOf("=")
    if (eq > 0) map.set(word.slice(0, eq), word.slice(eq + 1))
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) map.set(word, args[++i])
    else map.set(word, true)
  }
  return map
}

export const preflightJob = (run: CheckedRun): Effect.Effect<void, Problem> =>
  Effect.gen(function* () {
    const given = argumentMap(run.args)
    const text = (flag: string): string | undefined => {
      const v = given.get(flag)
      return typeof v === "string" ? v : undefined
    }
    const refuse = (field: string, problem: string) => Effect.fail<Problem>({ field, problem })
    const expected = run.expected
    const model = text("--model") ?? DEFAULT_MODEL
    if (model !== expected.model)
      return yield* refuse(
        given.has("--model") ? "args (--model)" : "expected.model",
        `the run would be of ${model}, but the job expects ${expected.model}`
      )
    if (run.model !== expected.model)
      return yield* refuse("model", `${run.model} is not the model the job expects (${expected.model})`)
    const seed = Number(text("--seed") ?? DEFAULT_SEED)
    if (seed !== expected.seed)
      return yield* refuse(
        given.has("--seed") ? "args (--seed)" : "expected.seed",
        `the run would have seed ${seed}, but the job expects ${expected.seed}`
      )
    const parsed: Partial<Record<SettingName, Option.Option<string | number>>> = {}
    for (const setting of settingNames) {
      const value = setting === "epochs" ? undefined : text(optionFor(setting))
      if (value === undefined) continue
      const cli = settingDocs[setting].cli
      parsed[setting] = Option.some(cli === "integer" || cli === "number" ? Number(value) : value)
    }
    const command = run.command ?? "train"
    const kind = command === "patches-train" ? "patches" : "mnist"
    const settings = yield* settingsFromOptions(model, kind, parsed).pipe(
      Effect.mapError((e) => ({ field: `args (${e.option})`, problem: e.problem }))
    )
    const epochsText = text("--epochs")
    const epochs =
      epochsText !== undefined
        ? Number(epochsText)
        : command === "train-data"
          ? OWN_DATA_EPOCHS
          : command === "train" && !given.has("--mnist-dir") && !given.has("--download")
            ? EMBEDDED_EPOCHS
            : settings.epochs
    if (epochs !== expected.epochs)
      return yield* refuse(
        epochsText !== undefined ? "args (--epochs)" : "expected.epochs",
        `the run would train ${epochs} epochs, but the job expects ${expected.epochs}`
      )
    const differs = firstDifference(expected.settings, { ...settings, epochs }, "settings")
    if (differs !== undefined)
      return yield* refuse(
        "expected.settings",
        `the arguments give other settings than the job expects: ${differs.replace("requested", "the job expects")}`
      )
    if (run.lambda !== expected.settings.lambda)
      return yield* refuse(
        "lambda",
        `${run.lambda} is not the job's λ (expected.settings.lambda ${expected.settings.lambda})`
      )
    const data = expected.data
    const samePath = (a: string | undefined, b: string) => a !== undefined && resolve(a) === resolve(b)
    if (command === "train") {
      if (data._tag !== "mnist")
        return yield* refuse(
          "expected.data",
          "a train job trains on MNIST; its expected data must be of the kind mnist"
        )
      const dir = text("--mnist-dir")
      const source =
        dir !== undefined ? `--mnist-dir ${dir}` : given.has("--download") ? "--download" : "the embedded digits"
      const wanted =
        data.mnist.kind === "dir"
          ? `--mnist-dir ${data.mnist.dir}`
          : data.mnist.kind === "download"
            ? "--download"
            : "the embedded digits"
      const same =
        data.mnist.kind === "dir"
          ? samePath(dir, data.mnist.dir)
          : data.mnist.kind === "download"
            ? dir === undefined && given.has("--download")
            : dir === undefined && !given.has("--download")
      if (!same)
        return yield* refuse("expected.data.mnist", `the run would train on ${source}, but the job expects ${wanted}`)
      const trainSize = text("--train-size") === undefined ? null : Number(text("--train-size"))
      if (trainSize !== data.trainSize)
        return yield* refuse(
          "expected.data.trainSize",
          `the run would use ${trainSize ?? "all"} training images, but the job expects ${data.trainSize ?? "all"}`
        )
    } else {
      if (data._tag !== "file")
        return yield* refuse(
          "expected.data",
          `a ${command} job trains on a file; its expected data must be of the kind file`
        )
      const flags = command === "train-data" ? ["--arrow", "--images"] : ["--data"]
      const path = flags.map(text).find((p) => p !== undefined)
      if (!samePath(path, data.path))
        return yield* refuse(
          "expected.data.path",
          `the run would train on ${path ?? "no file"} (${flags.join(" or ")}), but the job expects ${data.path}`
        )
    }
    const backend = text("--backend")
    if (expected.backend !== null && backend !== expected.backend) {
      return yield* refuse(
        "expected.backend",
        `the run would pick ${backend === undefined ? "the fastest backend that loads" : backend}, but the job expects ${expected.backend}; give --backend ${expected.backend}`
      )
    }
  })
