/**
 * Continue, not restart: a run folder that holds the last.safetensors of the very run asked for
 * is continued with --resume; the state of another run (other settings, another seed) is not, and
 * the run starts afresh saying why. The train command itself, given such a folder without
 * --resume, would start from epoch 1 and replace it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { planSweep } from "../../src/pipeline/jobs/plan.js"
import { continuation } from "../../src/pipeline/jobs/process.js"
import { repoRoot, runCli } from "../helpers/commands.js"
import { tinySweep } from "./tiny-sweep.js"

const fixture = join(repoRoot, "test", "fixtures", "mnist-small")

describe("a stopped run's folder", () => {
  it.effect(
    "is continued when its state is of the same run, and started afresh otherwise",
    () =>
      Effect.gen(function* () {
        const root = mkdtempSync(join(tmpdir(), "continuation-"))
        const spec = tinySweep(root, fixture, { epochs: 2 })
        const [run] = yield* planSweep(spec)
        expect((yield* continuation(run)).from).toBeNull()
        // A run of one epoch stands, as far as its state says, where a 2-epoch run killed after its first would.
        const once = yield* runCli(...run.args.map((w, i) => (run.args[i - 1] === "--epochs" ? "1" : w)))
        expect(once.ok, once.ok ? "" : once.message).toBe(true)
        rmSync(join(run.out, "summary.json"))
        expect(existsSync(join(run.out, "last.safetensors"))).toBe(true)

        const same = yield* continuation(run)
        expect(same).toMatchObject({ from: "epoch 2 batch 0", note: null })
        expect(same.run.args.slice(-2)).toEqual(["--resume", run.out])

        // Another run's state: the folder is that run's, and a job for another run is refused…
        const [otherLambda] = yield* planSweep({ ...spec, lambdas: [0.02] })
        const refused = yield* Effect.flip(continuation({ ...otherLambda, out: run.out }))
        expect(refused.message).toMatch(
          /holds another run \(the stopped run of sdl, seed 31, 1 epochs, λ 0\.01, stopped after 1 of 1 epochs\): its settings differ \(settings\.lambda is 0\.01, requested 0\.02\)\. A new run does not replace it/
        )
        // …unless it asks to replace it.
        const overwriting = [...otherLambda.args, "--overwrite"]
        const other = yield* continuation({ ...otherLambda, out: run.out, args: overwriting })
        expect(other.from).toBeNull()
        expect(other.run.args).toEqual(overwriting)
        expect(other.note).toMatch(
          /its settings differ \(settings\.lambda is 0\.01, requested 0\.02\)\); starting afresh, replacing it, as --overwrite asks/
        )
        const reseeded = yield* Effect.flip(continuation({ ...run, expected: { ...run.expected, seed: 7 } }))
        expect(reseeded.message).toMatch(/its seed is 31/)
        // train-data cannot resume: its runs start again.
        expect((yield* continuation({ ...run, command: "train-data" })).from).toBeNull()

        // Continued, the run finishes its second epoch only.
        const resumed = yield* runCli(...same.run.args)
        expect(resumed.ok, resumed.ok ? "" : resumed.message).toBe(true)
        expect(existsSync(join(run.out, "summary.json"))).toBe(true)
      }),
    120_000
  )
})
