/**
 * `train --source`: its choices are the registry's, and a source option the chosen source does
 * not read, or data it needs and did not get, is refused before anything is read, naming the
 * option.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { resolve } from "node:path"
import { commandLineMessage } from "../../src/cli/options.js"
import { commandChoices } from "../../src/cli/option-usage.js"
import { requestFrom } from "../../src/cli/source-options.js"
import { mnistCli, trainCommand } from "../../src/cli/commands/train.js"
import { sourceNames } from "../../src/pipeline/sources/registry.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { quiet } from "../helpers/mnist-runs.js"

const refusal = (...args: string[]) =>
  mnistCli(["node", "train", ...args, "--out", resolve("never-written"), "--backend", "wasm"]).pipe(
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return "ok"
      const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
      return commandLineMessage(e) ?? (e as { message?: string } | undefined)?.message ?? Cause.pretty(exit.cause)
    })
  )

describe("train --source", () => {
  it("offers every registered source as a choice", () => {
    expect(commandChoices(trainCommand("mnist")).get("--source")).toEqual(sourceNames)
  })

  it.effect("refuses what the chosen source does not read, and data it needs but did not get", () =>
    Effect.gen(function* () {
      expect(yield* refusal("--source", "arrow", "--data", "rows.arrow", "--size", "28")).toBe(
        "data arrow: it does not take size (it takes data, column, trainSize, valFraction, testFraction, normalize); drop it (option --size)"
      )
      expect(yield* refusal("--source", "labelled-images")).toBe(
        "data labelled-images: it reads a folder with one subfolder per class: FOLDER/CLASS/IMAGE.png; give it as data (option --data)"
      )
      expect(yield* refusal("--source", "images", "--data", "photos", "--mnist-dir", "mnist")).toBe(
        "option --mnist-dir: it is MNIST's; with --source images, give the data as --data"
      )
      expect(yield* refusal("--data", "a", "--mnist-dir", "b")).toBe(
        "option --data: --mnist-dir and --data both name the MNIST folder; give one"
      )
      expect(yield* refusal("--normalize", "none")).toBe(
        "data mnist: it does not take normalize (it takes data, download, trainSize); drop it (option --normalize)"
      )
      expect(yield* refusal("--source", "images", "--data", "photos", "--val-fraction", "1")).toBe(
        "option --val-fraction: 1 is not between 0 and 1 (exclusive); give 0.1, say"
      )
    })
  )

  it.effect("makes a request of the options given only, its data made absolute", () =>
    Effect.gen(function* () {
      const none = {
        source: Option.none(),
        data: Option.none(),
        size: Option.none(),
        column: Option.none(),
        valFraction: Option.none(),
        testFraction: Option.none(),
        normalize: Option.none()
      }
      expect(yield* requestFrom(none, 4, Option.none())).toEqual({ seed: 4 })
      expect(
        yield* requestFrom({ ...none, data: Option.some("here/there"), size: Option.some(12) }, 4, Option.some(100))
      ).toEqual({ seed: 4, data: resolve("here/there"), size: 12, trainSize: 100 })
    })
  )
})
