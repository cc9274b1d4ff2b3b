/**
 * Models compared at matched sparsity, for the paper's claims (b) and (c): the curves of a results
 * folder trained at several λ (e.g. the medium scale's) read at each point of another (e.g. the
 * paper scale's seeds, mean ± std) and at fixed zero fractions. Prints Markdown.
 *   npx tsx experiments/matched-sparsity.ts --curves docs/results/medium --points docs/results/paper [--sigma 1] [--levels 0.8,0.85,0.9,0.93]
 */
import { Effect } from "effect"
import {
  atSparsity,
  type Curve,
  drawnCurves,
  matchPoints,
  readDenoiseCurves,
  readDenoisePoints,
  readPsnrCurves,
  readPsnrPoints,
  type SpreadPoint
} from "../src/pipeline/paper/matched.js"

const usage =
  "usage: npx tsx experiments/matched-sparsity.ts --curves RESULTS_DIR --points RESULTS_DIR [--sigma 1] [--levels 0.8,0.85,0.9,0.93]"
const args = process.argv.slice(2)
const known = new Set(["--curves", "--points", "--sigma", "--levels"])
const given = new Map<string, string>()
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]]
  if (!known.has(flag) || value === undefined) {
    console.error(`${known.has(flag) ? `${flag} needs a value` : `unknown option ${flag}`}; ${usage}`)
    process.exit(2)
  }
  given.set(flag, value)
}
const curvesDir = given.get("--curves")
const pointsDir = given.get("--points")
const sigma = Number(given.get("--sigma") ?? "1")
const levels = (given.get("--levels") ?? "0.8,0.85,0.9,0.93").split(",").map(Number)
if (curvesDir === undefined || pointsDir === undefined || !(sigma > 0) || !levels.every((z) => z > 0 && z < 1)) {
  console.error(usage)
  console.error(
    "--curves and --points are required; --sigma is a noise level above 0; --levels are zero fractions between 0 and 1, comma-separated"
  )
  process.exit(2)
}

const f = (x: number | null, digits = 2) => (x === null || !Number.isFinite(x) ? "–" : x.toFixed(digits))
const spread = (mean: number, std: number, seeds: number, digits = 2) =>
  seeds > 1 ? `${f(mean, digits)} ± ${f(std, digits)}` : f(mean, digits)
const curveName = (c: Curve) => `${c.model.toUpperCase()} curve (${c.epochs} ep)`

const section = (title: string, unit: string, points: ReadonlyArray<SpreadPoint>, curves: ReadonlyArray<Curve>) => {
  console.log(`\n## ${title}\n`)
  for (const dataset of [...new Set(curves.map((c) => c.dataset))]) {
    const mine = drawnCurves(curves).filter((c) => c.dataset === dataset)
    mine.sort((a, b) => a.model.localeCompare(b.model))
    console.log(`### ${dataset}: each point beside the curves at its own zero fraction (${unit})\n`)
    console.log(
      `| point | λ | epochs | seeds | zeros | ${unit} | still improving | ${mine.map(curveName).join(" | ")} |`
    )
    console.log(`|${" --- |".repeat(7 + mine.length)}`)
    for (const row of matchPoints(
      points.filter((p) => p.dataset === dataset),
      mine
    )) {
      const p = row.point
      console.log(
        `| ${p.model.toUpperCase()} | ${p.lambda} | ${p.epochs} | ${p.seeds} | ${spread(p.zeros, p.zerosStd, p.seeds, 3)} | ${spread(p.value, p.valueStd, p.seeds)} | ${p.stillImproving === null ? "–" : `${p.stillImproving} of ${p.seeds}`} | ${row.curves.map((c) => f(c.value)).join(" | ")} |`
      )
    }
    console.log(`\n### ${dataset}: the curves at fixed zero fractions (${unit})\n`)
    console.log(`| zeros | ${mine.map(curveName).join(" | ")} |`)
    console.log(`|${" --- |".repeat(1 + mine.length)}`)
    for (const z of levels) console.log(`| ${z} | ${mine.map((c) => f(atSparsity(c.points, z))).join(" | ")} |`)
    console.log("")
  }
}

const program = Effect.gen(function* () {
  const [psnrCurves, psnrPoints, denoiseCurves, denoisePoints] = yield* Effect.all([
    readPsnrCurves(curvesDir),
    readPsnrPoints(pointsDir),
    readDenoiseCurves(curvesDir, sigma),
    readDenoisePoints(pointsDir, sigma)
  ])
  console.log("# Models at matched sparsity\n")
  console.log(
    `Curves: ${curvesDir} (one training seed, several λ, read by linear interpolation between λ levels, never beyond them: – where a curve does not reach). Points: ${pointsDir} (mean ± std over training seeds). Encoder codes throughout.`
  )
  section("Reconstruction: validation PSNR against zero fraction (claim b)", "val PSNR", psnrPoints, psnrCurves)
  section(
    `Denoising at σ = ${sigma}: test PSNR against the clean codes' zero fraction (claim c)`,
    `PSNR at σ ${sigma}`,
    denoisePoints,
    denoiseCurves
  )
})

const result = await Effect.runPromise(Effect.either(program))
if (result._tag === "Left") {
  console.error(result.left.message)
  process.exit(1)
}
