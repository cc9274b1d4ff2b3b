/**
 * The optimizer is a command-line choice: SGD with momentum, chosen with --optimizer sgd, trains
 * a small model (its training energy falls epoch after epoch), is recorded in the run's settings,
 * and keeps its momentum buffers in the checkpoint under its own name.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { readMetrics } from "../../src/pipeline/train/metrics-table.js"
import { runCli } from "../helpers/commands.js"

describe("--optimizer", () => {
  it.effect("sgd with momentum trains a small model from the command line", () =>
    Effect.gen(function* () {
      const out = join(mkdtempSync(join(tmpdir(), "sgd-")), "run")
      const result = yield* runCli(
        "--model",
        "vdl",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.9",
        "--decoder-lr",
        "0.01",
        "--encoder-lr",
        "0.01",
        "--train-size",
        "300",
        "--epochs",
        "3",
        "--code-dim",
        "16",
        "--backend",
        "wasm",
        "--seed",
        "3",
        "--out",
        out
      )
      expect(result.message).toBe("")
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
      expect(summary.settings).toMatchObject({ optimizer: "sgd", momentum: 0.9, nesterov: false })
      const energies = (yield* readMetrics(join(out, "metrics.arrow"))).rows.map((r) => Number(r.trainEnergy))
      expect(energies).toHaveLength(3)
      expect(energies[1]).toBeLessThan(energies[0])
      expect(energies[2]).toBeLessThan(energies[1])
      const last = yield* readCheckpoint(join(out, "last.safetensors"))
      expect(Object.keys(last.tensors)).toContain("decoder.sgd.momentum.W1")
      expect(Object.keys(last.tensors).some((k) => k.includes(".adam."))).toBe(false)
    })
  )
})
