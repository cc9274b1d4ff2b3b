/**
 * Every model setting reaches a person as an option that --help shows: a value it cannot take is
 * refused naming that option, and so is a change of it when a run is resumed.
 */
import { ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { mnistCli, trainCommand } from "../../src/cli/commands/train.js"
import { commandChoices } from "../../src/cli/option-usage.js"
import { optionFor, typed } from "../../src/cli/options.js"
import { type SettingName, settingDocs, settingNames } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { commandLineError } from "../../src/cli/run-main.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"

/** The options of the train command that take one of a few names, read from its option definitions. */
const choiceFlags = commandChoices(trainCommand("mnist"))

const help = spawnSync(process.execPath, ["--import", "tsx", "experiments/mnist.ts", "--help"], {
  encoding: "utf8",
  timeout: 120_000
}).stdout.replace(/\u001b\[[0-9;]*m/g, "")
const shownFlags = new Set(help.match(/--[a-z][a-z-]*/g) ?? [])

/** What a person reads when the command refuses these arguments. */
const refusal = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const failure = yield* Effect.flip(
      mnistCli(["node", "mnist", ...args]).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent)))
    )
    return ValidationError.isValidationError(failure)
      ? commandLineError(failure, args, choiceFlags)
      : (failure as { message: string }).message
  })

/** A value of the right kind that the setting cannot take. */
const invalid = (setting: SettingName): string => {
  const cli = settingDocs[setting].cli
  if (cli === "yes-no" || typeof cli === "object") return "bogus"
  if (cli === "widths") return "0"
  return "-3"
}

/** A value the setting can take that differs from the stored one. */
const other = (setting: SettingName, stored: unknown): string => {
  const cli = settingDocs[setting].cli
  if (cli === "yes-no") return stored ? "no" : "yes"
  if (typeof cli === "object") return cli.choices.find((c) => c !== stored) ?? "none"
  if (cli === "widths") return "7"
  if (cli === "integer") return String((stored as number) + 1)
  return String((stored as number) * 2 + 0.125)
}

describe("every setting of experiments/mnist.ts", () => {
  it("has an option that --help shows, and enumerated options list their choices", () => {
    for (const setting of settingNames) expect(shownFlags, setting).toContain(optionFor(setting))
    for (const [flag, choices] of choiceFlags) {
      if (!shownFlags.has(flag)) continue
      const section = help.slice(help.search(new RegExp(`^${flag} `, "m"))).split("\n\n")[1] ?? ""
      expect(section, flag).toContain(`One of the following: ${choices.join(", ")}`)
    }
    expect(help).not.toMatch(/--(model|unit-norm|inference|backend) text/)
  })

  it.effect("refuses a value it cannot take naming the option --help shows", () =>
    Effect.gen(function* () {
      for (const setting of settingNames) {
        const flag = optionFor(setting)
        const text = yield* refusal([
          flag,
          invalid(setting),
          "--out",
          join(mkdtempSync(join(tmpdir(), "settings-")), "run")
        ])
        expect(text, setting).toContain(`option ${flag}`)
        expect(shownFlags, setting).toContain(flag)
      }
    })
  )

  it.effect("refuses a change of any setting on --resume naming its option", () =>
    Effect.gen(function* () {
      const out = join(mkdtempSync(join(tmpdir(), "settings-resume-")), "run")
      yield* mnistCli([
        "node",
        "mnist",
        "--model",
        "sdl",
        "--epochs",
        "1",
        "--train-size",
        "300",
        "--code-dim",
        "8",
        "--batch-size",
        "50",
        "--max-steps",
        "5",
        "--backend",
        "cpu",
        "--out",
        out
      ]).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent)))
      const stored = { ...variants.sdl.settings.mnist, codeDim: 8, batchSize: 50, maxSteps: 5 }
      for (const setting of settingNames) {
        if (setting === "epochs") continue
        const flag = optionFor(setting)
        const given = other(setting, stored[setting])
        const text = yield* refusal(["--resume", out, flag, given])
        expect(text, setting).toContain(`option ${flag}: the run in`)
        expect(text, setting).toContain(`with ${flag} ${typed(setting, stored[setting])}, not ${given}`)
      }
    })
  )
})
