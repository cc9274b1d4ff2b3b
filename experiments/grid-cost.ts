/**
 * The paper's whole grid (MNIST: seven variants × three λ × 200 epochs; 200,000 patches: SDL, VDL
 * and VDL-NL × two λ × 100 epochs), projected from short measured runs: hours on one machine and
 * on N queue workers. Measure first, one run folder per model and data set, e.g.
 *   npx sparse-vdl train --model vdl --mnist-dir path/to/mnist --epochs 3 --out runs/cost/mnist-vdl
 *   npx sparse-vdl patches train --model vdl --data patches.bin --train-size 20000 --epochs 2 --out runs/cost/patches-vdl
 * then
 *   npx tsx experiments/grid-cost.ts runs/cost/* [--workers 1,2,4,8]
 */
import { Effect } from "effect"
import { variants } from "../src/models/variants.js"
import { paperGrid, projectGrid, readEpochCost } from "../src/pipeline/paper/grid-cost.js"
import { mnistLambdas, patchLambdas } from "../src/pipeline/paper/scale.js"

const args = process.argv.slice(2)
const at = args.indexOf("--workers")
const workers = at >= 0 ? args[at + 1].split(",").map(Number) : [1, 2, 4, 8]
const runDirs = at >= 0 ? args.filter((_, i) => i !== at && i !== at + 1) : args
if (runDirs.length === 0 || workers.some((w) => !(Number.isInteger(w) && w >= 1))) {
  console.error("usage: npx tsx experiments/grid-cost.ts RUN_DIR... [--workers 1,2,4,8] (whole numbers, 1 or more)")
  process.exit(2)
}

// The four swept variants at the paper scale's levels; the others at their preset λ and a factor of two each side.
const mnist: Record<string, ReadonlyArray<number>> = { ...mnistLambdas.full }
for (const name of ["wdl", "wdl-nl", "noreg"] as const) {
  const preset = variants[name].settings.mnist.lambda
  mnist[name] = [preset / 2, preset, preset * 2]
}
const read = await Effect.runPromise(Effect.either(Effect.all(runDirs.map(readEpochCost))))
if (read._tag === "Left") {
  console.error(read.left.message)
  process.exit(1)
}
const costs = read.right
const projection = projectGrid(paperGrid(mnist, patchLambdas.full), costs, workers)

const hours = (h: number) => h.toFixed(1)
console.log("| data set | model | seconds per 1,000 rows | epochs × rows | runs | hours per run | measured in |")
console.log("| --- | --- | --- | --- | --- | --- | --- |")
for (const cost of costs) {
  const runs = projection.runs.filter((r) => r.dataset === cost.dataset && r.model === cost.model)
  if (runs.length === 0) continue
  console.log(
    `| ${cost.dataset} | ${cost.model} | ${(cost.secondsPerRow * 1000).toFixed(3)} | ${runs[0].epochs} × ${runs[0].trainRows.toLocaleString("en")} | ${runs.length} | ${hours(runs[0].hours)} | ${cost.from} |`
  )
}
console.log(`\nWhole grid: ${projection.runs.length} runs, ${hours(projection.totalHours)} hours on one machine.`)
console.log("\n| queue workers (one machine each) | wall hours |")
console.log("| --- | --- |")
for (const w of projection.onWorkers) console.log(`| ${w.workers} | ${hours(w.hours)} |`)
if (projection.unmeasured.length > 0)
  console.log(
    `\nNot measured, left out: ${[...new Set(projection.unmeasured.map((r) => `${r.dataset}/${r.model}`))].join(", ")}`
  )
