import { Args, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { EvaluationError } from "../pipeline/evaluation/errors.js"
import { parseNumberList } from "../pipeline/evaluation/outputs.js"

/** The options every evaluation command shares. */
export const runsArgs = Args.text({ name: "run" }).pipe(
  Args.withDescription("run folders written by experiments/mnist.ts (summary.json and checkpoint.safetensors)"),
  Args.atLeast(1)
)

export const mnistDirOption = Options.directory("mnist-dir").pipe(
  Options.withDescription(
    "folder of MNIST IDX files to use instead of the source each run recorded in its summary.json"
  ),
  Options.optional
)

export const patchFileOption = Options.file("patch-file").pipe(
  Options.withDescription(
    "patch file (experiments/patches.ts build) to use instead of the one each patch run recorded"
  ),
  Options.optional
)

export const dataPathOption = Options.text("data").pipe(
  Options.withDescription(
    "the data (folder or file) to use instead of the one each run of another source (train --source) recorded"
  ),
  Options.optional
)

export const evalOutOption = (what: string) =>
  Options.text("out").pipe(
    Options.withDescription(`output folder (default: the first run's folder/${what}/)`),
    Options.optional
  )

/** A comma-separated list of numbers, each checked by `valid`. */
export const numberList = (option: string, raw: string, valid: (x: number) => boolean, expected: string) => {
  const values = parseNumberList(raw)
  return values === null || values.length === 0 || !values.every(valid)
    ? Effect.fail(
        new EvaluationError({
          what: `option --${option}`,
          problem: `${JSON.stringify(raw)} is not a comma-separated list of ${expected}`
        })
      )
    : Effect.succeed(values)
}

export const optionalPositive = (option: string, value: Option.Option<number>) =>
  Option.isSome(value) && !(Number.isInteger(value.value) && value.value > 0)
    ? Effect.fail(
        new EvaluationError({ what: `option --${option}`, problem: `${value.value} is not a positive whole number` })
      )
    : Effect.succeed(Option.getOrUndefined(value))
