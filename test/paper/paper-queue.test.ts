/**
 * The paper's training runs on the job queue: a tiny plan's MNIST run and patch run both go to a
 * worker process given the plan's folder as --root, the patch run only once the patch file is
 * built; the worker trains them where the plan expects them, and a second start finds both done.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect } from "vitest"
import { paperPrograms } from "../../src/cli/commands/paper.js"
import { executePlan } from "../../src/pipeline/paper/execute.js"
import { type PaperPlan, planPaper } from "../../src/pipeline/paper/plan.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { repoRoot, spawnCommand } from "../helpers/commands.js"
import { quiet } from "../helpers/mnist-runs.js"
import { redisForTests } from "../sweep/redis.js"
import { tinySpec, writeTinyPhotos } from "./tiny-plan.js"

describe("the paper's plan on the job queue", () => {
  const redis = redisForTests()

  redis.it(
    "sends the MNIST and patch runs to a worker, the patch run after the patch file, and finds them done when started again",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "paper-queue-"))
      const out = join(root, "paper")
      const photos = await writeTinyPhotos(join(root, "photos"))
      const spec = { ...tinySpec(out, photos), lambdas: { mnist: { vdl: [0.02] }, patches: { vdl: [0.01] } } }
      const queue = { url: redis.url, name: `paper-${process.pid}-${Date.now()}` }
      const execute = (plan: PaperPlan) =>
        Effect.runPromise(
          executePlan(plan, { parallel: 2, programs: paperPrograms(repoRoot), queue }).pipe(
            Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet))
          )
        )
      const full = await Effect.runPromise(planPaper(spec))
      // The training runs and what they need; the evaluations are the local runner's, tested in paper-e2e.
      const plan: PaperPlan = {
        ...full,
        steps: full.steps.filter((s) => s.kind === "train" || s.kind === "patch-build")
      }
      expect(plan.steps.map((s) => s.id)).toEqual(["patch-build", "mnist/vdl-lambda0.02", "patches/vdl-lambda0.01"])

      const worker = spawnCommand("experiments/worker.ts", [
        "--queue",
        redis.url,
        "--queue-name",
        queue.name,
        "--root",
        out
      ])
      redis.started.push(worker)
      const outcomes = await execute(plan)
      expect(Object.fromEntries(outcomes.map((o) => [o.step.id, o.problem ?? o.status]))).toEqual({
        "patch-build": "ran",
        "mnist/vdl-lambda0.02": "ran",
        "patches/vdl-lambda0.01": "ran"
      })
      const text = worker.output()
      expect(text).toMatch(/worker: started vdl-lambda0\.02/)
      expect(text).toMatch(/worker: started vdl-lambda0\.01/)
      const patchRun = join(out, "patches", "vdl-lambda0.01")
      const summary = JSON.parse(readFileSync(join(patchRun, "summary.json"), "utf8"))
      expect(summary).toMatchObject({
        model: "vdl",
        epochs: 1,
        data: { patchFile: join(out, "data", "patches.arrow") }
      })
      // The patch run was trained by the worker (its log is in the run folder), after the build.
      expect(readFileSync(join(patchRun, "run.log"), "utf8")).toMatch(/data: .*patches\.arrow/)
      expect(existsSync(join(out, "mnist", "vdl-lambda0.02", "summary.json"))).toBe(true)

      const again = await execute(plan)
      expect(again.map((o) => o.status)).toEqual(["skipped", "skipped", "skipped"])
      worker.child.kill("SIGTERM")
    },
    240_000
  )
})
