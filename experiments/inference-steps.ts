/**
 * Inference methods side by side on a trained model's decoder: steps per row, rows at the step
 * limit, energy reached and time, on MNIST training images (the embedded digits without
 * --mnist-dir). For a decoder that has outgrown its preset's step, e.g.
 *   npx tsx experiments/inference-steps.ts runs/mnist-vdl-nl --mnist-dir path/to/mnist --inference fista,fista-adaptive,fista-adaptive-wide --rows 2000
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { type InferenceName, inferenceNames } from "../src/models/inference/registry.js"
import { BackendLive } from "../src/pipeline/backend/backend.js"
import { compareInference } from "../src/pipeline/evaluation/inference-steps.js"
import { mapSplits } from "../src/pipeline/sources/dataset.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../src/pipeline/sources/mnist.js"
import { loadModel } from "../src/pipeline/use/loaded-model.js"

const usage =
  "usage: npx tsx experiments/inference-steps.ts RUN_OR_CHECKPOINT [--mnist-dir DIR] [--inference fista,fista-adaptive] [--rows 2000]"
const args = process.argv.slice(2)
const fail = (problem: string): never => {
  console.error(`${problem}; ${usage}`)
  process.exit(2)
}
const known = new Set(["--mnist-dir", "--inference", "--rows"])
const given = new Map<string, string>()
const positional: string[] = []
for (let i = 0; i < args.length; i++) {
  if (!args[i].startsWith("--")) positional.push(args[i])
  else if (!known.has(args[i])) fail(`unknown option ${args[i]}`)
  else if (args[i + 1] === undefined) fail(`${args[i]} needs a value`)
  else given.set(args[i], args[++i])
}
if (positional.length !== 1) fail("give one run folder or checkpoint file")
const methods = (given.get("--inference") ?? inferenceNames.join(",")).split(",")
const unknownMethod = methods.find((m) => !(inferenceNames as ReadonlyArray<string>).includes(m))
if (unknownMethod !== undefined) fail(`--inference: ${unknownMethod} is not one of ${inferenceNames.join(", ")}`)
const rows = Number(given.get("--rows") ?? "2000")
if (!(Number.isInteger(rows) && rows > 0)) fail("--rows is a whole number above 0")
const dir = given.get("--mnist-dir")

const program = Effect.scoped(
  Effect.gen(function* () {
    const model = yield* loadModel(positional[0])
    const data = yield* loadMnist(dir === undefined ? { kind: "embedded" } : { kind: "dir", dir })
    const train = mapSplits(splitStage(0)(data), (s, name) => normalizeMnistStage(name)(s)).train
    if (train.dim !== model.model.inputDim)
      return yield* Effect.fail(
        new Error(`the model takes rows of ${model.model.inputDim} values, MNIST's have ${train.dim}`)
      )
    const n = Math.min(rows, train.rows)
    console.log(
      `${model.file}: ${model.variant}, η ${model.settings.eta}, at most ${model.settings.maxSteps} steps, tol ${model.settings.tol}; ${n} MNIST training rows in batches of ${model.settings.batchSize}\n`
    )
    console.log("| inference | steps per row | rows at the limit | most steps | energy per row | seconds |")
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |")
    for (const r of compareInference(model.model, train.x, n, methods as InferenceName[]))
      console.log(
        `| ${r.inference} | ${r.meanSteps.toFixed(2)} | ${r.rowsAtLimit} of ${r.rows} | ${r.maxSteps} | ${r.energy.toFixed(5)} | ${(r.milliseconds / 1000).toFixed(1)} |`
      )
  })
)

const result = await Effect.runPromise(
  Effect.either(program.pipe(Effect.provide(Layer.mergeAll(BackendLive(), NodeContext.layer))))
)
if (result._tag === "Left") {
  console.error(result.left instanceof Error ? result.left.message : String(result.left))
  process.exit(1)
}
