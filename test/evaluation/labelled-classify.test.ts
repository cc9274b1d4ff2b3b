/**
 * Low-data classification on a labelled image folder of one's own, end to end as a person runs
 * it: `train --source labelled-images --data DIR` for one epoch, then `classify` on the run, on
 * three classes of generated 8×8 PNGs that a linear classifier separates; then denoise and the
 * report on the same run.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { classifyCommand } from "../../src/cli/commands/classify.js"
import { denoiseCommand } from "../../src/cli/commands/denoise.js"
import { reportCommand } from "../../src/cli/commands/report.js"
import { commandCli } from "../../src/cli/entry.js"
import { mnistCli } from "../../src/cli/commands/train.js"
import { readArrowIpc } from "../../src/data/table.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { labelledClasses, writeLabelledFolder } from "../helpers/labelled-images.js"
import { quiet } from "../helpers/mnist-runs.js"

const root = mkdtempSync(join(tmpdir(), "labelled-classify-"))
const classifyCli = commandCli(classifyCommand, "classify")
const denoiseCli = commandCli(denoiseCommand, "denoise")
const reportCli = commandCli(reportCommand, "report")

const outcome = <E, A>(
  effect: Effect.Effect<A, E, NodeContext.NodeContext | import("../../src/pipeline/train/progress.js").Progress>
) =>
  effect.pipe(
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent, quiet)),
    Effect.exit,
    Effect.map((exit) =>
      Exit.isSuccess(exit)
        ? "ok"
        : ((Option.getOrUndefined(Cause.failureOption(exit.cause)) as { message?: string } | undefined)?.message ??
          Cause.pretty(exit.cause))
    )
  )

const train = (...args: string[]) => outcome(mnistCli(["node", "train", ...args]))
const classify = (...args: string[]) => outcome(classifyCli(["node", "classify", ...args]))
const denoise = (...args: string[]) => outcome(denoiseCli(["node", "denoise", ...args]))
const report = (...args: string[]) => outcome(reportCli(["node", "report", ...args]))

describe("classify on a labelled image folder", () => {
  it.effect(
    "trains one epoch on it and classifies its test images above chance",
    () =>
      Effect.gen(function* () {
        const data = writeLabelledFolder(join(root, "shapes"), 30)
        const run = join(root, "run")
        const small = ["--model", "vdl", "--code-dim", "16", "--batch-size", "10", "--backend", "wasm", "--seed", "3"]
        expect(
          yield* train(
            "--source",
            "labelled-images",
            "--data",
            data,
            "--val-fraction",
            "0.2",
            "--test-fraction",
            "0.2",
            "--epochs",
            "1",
            "--out",
            run,
            ...small
          )
        ).toBe("ok")
        const summary = JSON.parse(readFileSync(join(run, "summary.json"), "utf8"))
        expect(summary.data).toMatchObject({
          train: 54,
          val: 18,
          test: 18,
          classes: labelledClasses,
          dataSource: { name: "labelled-images", request: { data, seed: 3 } }
        })
        for (const f of ["checkpoint.safetensors", "last.safetensors", "reconstructions.png"])
          expect(existsSync(join(run, f)), f).toBe(true)

        // A resumed run loads the same data from what the run recorded.
        expect(yield* train("--resume", run, "--epochs", "2")).toBe("ok")
        expect(JSON.parse(readFileSync(join(run, "summary.json"), "utf8")).epochs).toBe(2)
        // It keeps its data: another source or option is refused, naming it.
        expect(yield* train("--resume", run, "--source", "images", "--epochs", "3")).toBe(
          `option --source: the run in ${run} was trained with --source labelled-images, not images; a resumed run keeps its settings (only --epochs may change). Drop --source to continue it, or start a new run with another --out`
        )
        expect(yield* train("--resume", run, "--size", "12", "--epochs", "3")).toMatch(
          /^option --size: the run in .* was trained with --size \(not given\), not 12/
        )

        const out = join(root, "classify")
        expect(
          yield* classify(
            run,
            "--per-class",
            "1,5",
            "--seeds",
            "2",
            "--epochs",
            "40",
            "--backend",
            "wasm",
            "--out",
            out
          )
        ).toBe("ok")
        const rows = readArrowIpc(new Uint8Array(readFileSync(join(out, "classify.arrow")))) as Array<
          Record<string, unknown>
        >
        const at = (features: string, k: number) =>
          rows.find((r) => r.features === features && r.perClass === k)?.accuracyMean as number
        // Chance is 1/3 for three balanced classes.
        expect(at("pixels", 5)).toBeGreaterThan(0.8)
        expect(Math.max(at("encoder", 5), at("fista", 5))).toBeGreaterThan(0.6)

        // The rest of the evaluation on the same run: denoising its test images, and the report of both.
        const denoised = join(root, "denoise")
        expect(yield* denoise(run, "--sigma", "0.5", "--examples", "2", "--backend", "wasm", "--out", denoised)).toBe(
          "ok"
        )
        expect(existsSync(join(denoised, "denoise.arrow"))).toBe(true)
        const page = join(root, "report.html")
        expect(yield* report(run, "--results", denoised, "--results", out, "--out", page)).toBe("ok")
        const html = readFileSync(page, "utf8")
        expect(html).toContain("3 classes (across, cross, down), 8×8")
        expect(html).toContain("LISTA end to end")
      }),
    240_000
  )

  it.effect(
    "refuses to classify a run whose data has no labels, saying which source has them",
    () =>
      Effect.gen(function* () {
        const data = join(writeLabelledFolder(join(root, "flat"), 12), "across")
        const run = join(root, "unlabelled-run")
        expect(
          yield* train(
            "--source",
            "images",
            "--data",
            data,
            "--val-fraction",
            "0.25",
            "--test-fraction",
            "0.25",
            "--epochs",
            "1",
            "--model",
            "vdl",
            "--code-dim",
            "4",
            "--batch-size",
            "3",
            "--backend",
            "wasm",
            "--out",
            run
          )
        ).toBe("ok")
        const message = yield* classify(
          run,
          "--per-class",
          "1",
          "--seeds",
          "1",
          "--epochs",
          "1",
          "--backend",
          "wasm",
          "--out",
          join(root, "nope")
        )
        expect(message).toMatch(
          /its train split has no labels; classify runs trained on labelled data .*--source labelled-images/
        )
      }),
    120_000
  )
})
