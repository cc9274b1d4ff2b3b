/**
 * The plan in sittings: a two-core machine lent for at most three hours at a time, where the next
 * sitting may be a fresh machine holding only what was committed. A run and its evaluations stay
 * in one sitting (the evaluations read its checkpoint, which is not committed), every sitting is
 * filled to a share of its hours from measured costs, and `--sitting K` or `--only` runs a part
 * of the plan. The packing depends only on the plan and the cost table below, so that every
 * sitting computes the same split.
 */
import type { PaperPlan, ProcessStep, Step, TrainStep } from "./plan.js"

/**
 * Seconds per epoch on full MNIST (55,000 images) and per epoch of 100,000 patches, one run at a
 * time on two cores, the wasm backend with OpenBLAS, each with its validation pass. Training:
 * the second and third epochs of short runs on an idle machine after the third speed wave
 * (docs/benchmarks.md, "the grid's cost": training seconds per 1,000 rows SDL 0.044, SDL-NL
 * 0.482, VDL 0.039, VDL-NL 0.133, WDL 0.040, WDL-NL 0.839, noreg 0.033; patches SDL 0.280, VDL
 * 0.138, VDL-NL 0.628), rounded up by about a fifth for the validation pass and checkpoints.
 * Inference takes fewer steps as a model trains, so later epochs tend to cost less.
 * Evaluations, from a shared machine (docs/paper.md gives the commands): denoising (20 s for VDL
 * at four σ), classification of one run's two code kinds with the authors' protocol (97 s for
 * VDL), the pixel and LISTA baselines (652 s, under a load of 10–12), the patch build (64 s for
 * 20,000 under load). Measure again on the machine the sittings run on and change them here.
 */
export const measuredCosts = {
  mnistEpoch: { sdl: 3, "sdl-nl": 32, vdl: 3, "vdl-nl": 9, noreg: 3, wdl: 3, "wdl-nl": 56 } as Record<string, number>,
  patchEpochPer100k: { sdl: 34, vdl: 17, "vdl-nl": 76 } as Record<string, number>,
  /** Start, data loading, the test pass and the atom pictures of one training run. */
  runOverhead: 30,
  /** Denoising at four σ on the 10,000 MNIST test images, or on a patch test split of 20,000. */
  denoise: { mnist: 40, patches: 60 } as Record<string, number>,
  /** Classification of one run's encoder and FISTA codes: 7 K × 5 seeds × 100 epochs each. */
  classify: 180,
  /** The pixels and LISTA baselines of classification. */
  classifyBaselines: 650,
  /** Building the patch file, per 100,000 training patches (the validation and test patches come with it). */
  patchBuildPer100k: 90
}

export type Costs = typeof measuredCosts

/** Share of a sitting's hours that the plan fills: the rest is for the measured costs' error, exporting and committing. */
export const SITTING_FILL = 0.75
export const SITTING_HOURS = 3

/** What one step is expected to take, in seconds. */
export const stepSeconds = (plan: PaperPlan, step: Step, costs: Costs = measuredCosts): number => {
  if (step.kind === "train") {
    const { model, expected } = step.request
    const perEpoch =
      step.dataset === "mnist"
        ? ((costs.mnistEpoch[model] ?? costs.mnistEpoch.vdl) * (plan.sizes.mnist.trainSize ?? 55_000)) / 55_000
        : ((costs.patchEpochPer100k[model] ?? costs.patchEpochPer100k["vdl-nl"]) * plan.sizes.patches.train) / 100_000
    return costs.runOverhead + expected.epochs * perEpoch
  }
  switch (step.kind) {
    case "patch-build":
      return (costs.patchBuildPer100k * plan.sizes.patches.train) / 100_000
    case "denoise":
      return costs.denoise[step.id.startsWith("patches/") ? "patches" : "mnist"] ?? costs.denoise.mnist
    case "classify":
      return step.id === "classify-baselines" ? costs.classifyBaselines : costs.classify
    case "collapse": {
      const models = plan.sizes.collapse.models
      return models.reduce(
        (sum, m) => sum + costs.runOverhead + plan.epochs.collapse * (costs.mnistEpoch[m] ?? costs.mnistEpoch.vdl),
        0
      )
    }
  }
}

/** Steps that go together: a training run with its evaluations (and the baselines with the run that lends them data), or the collapse. */
export interface Unit {
  /** The unit's name: its training run's id, or the step's own. */
  readonly id: string
  readonly steps: ReadonlyArray<string>
  readonly seconds: number
  /** Whether it trains on the patch file, which its sitting must build first. */
  readonly patches: boolean
}

export interface Sitting {
  /** 1-based, as `--sitting` takes it. */
  readonly index: number
  readonly units: ReadonlyArray<Unit>
  /** Expected seconds, the patch build included where the sitting needs it. */
  readonly seconds: number
  /** A unit longer than a sitting's share: it sits alone, and may need the next sitting to finish (it resumes from last.safetensors, which must then be carried over). */
  readonly overlong: boolean
}

export const planUnits = (plan: PaperPlan, costs: Costs = measuredCosts): Unit[] => {
  const units: Unit[] = []
  const processes = plan.steps.filter((s): s is ProcessStep => s.kind !== "train")
  for (const step of plan.steps) {
    if (step.kind === "train") {
      const mine = processes.filter((p) => p.run === step.id)
      const steps = [step, ...mine]
      units.push({
        id: step.id,
        steps: steps.map((s) => s.id),
        seconds: steps.reduce((sum, s) => sum + stepSeconds(plan, s, costs), 0),
        patches: step.dataset === "patches"
      })
    } else if (step.kind === "collapse") {
      units.push({ id: step.id, steps: [step.id], seconds: stepSeconds(plan, step, costs), patches: false })
    }
  }
  return units
}

/**
 * The plan's units packed into sittings: longest first, each into the first sitting with room
 * (a sitting with patch runs pays for the patch build once), so that few sittings hold it all.
 */
export const planSittings = (
  plan: PaperPlan,
  options: { readonly hours?: number; readonly costs?: Costs } = {}
): Sitting[] => {
  const costs = options.costs ?? measuredCosts
  const capacity = (options.hours ?? SITTING_HOURS) * 3600 * SITTING_FILL
  const build = plan.steps.find((s) => s.kind === "patch-build")
  const buildSeconds = build === undefined ? 0 : stepSeconds(plan, build, costs)
  const order = planUnits(plan, costs)
    .map((u, i) => ({ u, i }))
    .sort((a, b) => b.u.seconds - a.u.seconds || a.i - b.i)
    .map((x) => x.u)
  const bins: Array<{ units: Unit[]; seconds: number; patches: boolean }> = []
  for (const u of order) {
    const cost = (b: { patches: boolean }) => u.seconds + (u.patches && !b.patches ? buildSeconds : 0)
    const bin = bins.find((b) => b.seconds + cost(b) <= capacity)
    if (bin === undefined) {
      bins.push({ units: [u], seconds: cost({ patches: false }), patches: u.patches })
    } else {
      bin.seconds += cost(bin)
      bin.units.push(u)
      bin.patches ||= u.patches
    }
  }
  return bins.map((b, i) => ({
    index: i + 1,
    units: b.units,
    seconds: b.seconds,
    overlong: b.seconds > capacity
  }))
}

/**
 * The plan cut down to the given steps and every step they need, in the plan's order: what a
 * sitting or `--only` runs. Names are step ids or unit ids (a training run's id brings its
 * evaluations); an unknown name is returned in `unknown`.
 */
export const restrictPlan = (
  plan: PaperPlan,
  names: ReadonlyArray<string>,
  costs: Costs = measuredCosts
): { readonly plan: PaperPlan; readonly unknown: ReadonlyArray<string> } => {
  const units = new Map(planUnits(plan, costs).map((u) => [u.id, u]))
  const byId = new Map(plan.steps.map((s) => [s.id, s]))
  const wanted = new Set<string>()
  const unknown: string[] = []
  const add = (id: string) => {
    if (wanted.has(id)) return
    const step = byId.get(id)
    if (step === undefined) return
    wanted.add(id)
    for (const d of step.deps) add(d)
  }
  for (const name of names) {
    const unit = units.get(name)
    if (unit !== undefined) unit.steps.forEach(add)
    else if (byId.has(name)) add(name)
    else unknown.push(name)
  }
  return { plan: { ...plan, steps: plan.steps.filter((s) => wanted.has(s.id)) }, unknown }
}

/** The steps of sitting `index` (1-based), or null when the plan has fewer sittings. */
export const sittingPlan = (plan: PaperPlan, index: number, options: { readonly hours?: number } = {}) => {
  const sittings = planSittings(plan, options)
  const sitting = sittings[index - 1]
  if (sitting === undefined) return null
  return {
    sitting,
    plan: restrictPlan(
      plan,
      sitting.units.map((u) => u.id)
    ).plan,
    of: sittings.length
  }
}

const hours = (seconds: number) => `${(seconds / 3600).toFixed(1)} h`

/** The sittings as a Markdown table: what `paper --show-sittings` prints and docs/paper.md quotes. */
export const sittingsTable = (plan: PaperPlan, options: { readonly hours?: number } = {}): string => {
  const sittings = planSittings(plan, options)
  const describe = (u: Unit) => {
    const train = plan.steps.find((s): s is TrainStep => s.id === u.id && s.kind === "train")
    return train === undefined ? u.id : `${u.id} (${train.request.expected.epochs} ep)`
  }
  return [
    "| sitting | expected | runs (each with its evaluations) |",
    "|---|---|---|",
    ...sittings.map(
      (s) =>
        `| ${s.index} | ${hours(s.seconds)}${s.overlong ? " (longer than a sitting)" : ""} | ${s.units.map(describe).join(", ")} |`
    ),
    "",
    `${sittings.length} sittings, ${hours(sittings.reduce((a, s) => a + s.seconds, 0))} in all, each filled to ${Math.round(SITTING_FILL * 100)} % of ${options.hours ?? SITTING_HOURS} h.`
  ].join("\n")
}
