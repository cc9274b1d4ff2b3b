/**
 * A run folder belongs to one run: a new run in a folder that holds another (other settings,
 * seed, data or epochs) is refused before it trains, naming the folder, the run in it and what
 * differs, and that run is left as it was; --overwrite replaces it; the same run asked for again
 * starts again; --resume still continues it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { repoRoot, runCli } from "../helpers/commands.js"

const fixture = join(repoRoot, "test", "fixtures", "mnist-small")
const tiny = (out: string, ...more: string[]) => [
  "--mnist-dir",
  fixture,
  "--model",
  "sdl",
  "--epochs",
  "1",
  "--code-dim",
  "8",
  "--batch-size",
  "4",
  "--backend",
  "wasm",
  "--out",
  out,
  ...more
]
const lambdaIn = (out: string): number => JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).settings.lambda

describe("a run folder", () => {
  it.effect(
    "holding another run is refused unless --overwrite, naming the run and what differs",
    () =>
      Effect.gen(function* () {
        const out = join(mkdtempSync(join(tmpdir(), "run-folder-")), "run")
        const first = yield* runCli(...tiny(out, "--lambda", "0.01"))
        expect(first.ok, first.message).toBe(true)
        const before = readFileSync(join(out, "last.safetensors"))

        const other = yield* runCli(...tiny(out, "--lambda", "0.02"))
        expect(other.ok).toBe(false)
        expect(other.message).toBe(
          `${out} holds another run (sdl, seed 31, 1 epochs, λ 0.01, finished): settings.lambda is 0.01, requested 0.02. ` +
            `A new run does not replace it: choose another folder, continue that run with --resume ${out}, or replace it on purpose with --overwrite (the option overwrite: true from code)`
        )
        expect(lambdaIn(out)).toBe(0.01)
        expect(readFileSync(join(out, "last.safetensors")).equals(before)).toBe(true)
        const longer = yield* runCli(
          ...tiny(out, "--lambda", "0.01").map((w, i, all) => (all[i - 1] === "--epochs" ? "2" : w))
        )
        expect(longer.message).toMatch(
          /holds another run \(.*\): epochs is 1, requested 2\. A new run does not replace it: .*continue that run with --resume/
        )
        const reseeded = yield* runCli(...tiny(out, "--lambda", "0.01", "--seed", "7"))
        expect(reseeded.message).toMatch(/: seed is 31, requested 7\./)

        // The same run again: it starts again, as before.
        const again = yield* runCli(...tiny(out, "--lambda", "0.01"))
        expect(again.ok, again.message).toBe(true)
        // Asked to, a run replaces another.
        const replaced = yield* runCli(...tiny(out, "--lambda", "0.02", "--overwrite"))
        expect(replaced.ok, replaced.message).toBe(true)
        expect(lambdaIn(out)).toBe(0.02)
        // A continued run is no new run.
        const resumed = yield* runCli("--resume", out, "--epochs", "2")
        expect(resumed.ok, resumed.message).toBe(true)

        // Files whose run cannot be told: refused too.
        const damaged = join(mkdtempSync(join(tmpdir(), "run-folder-")), "run")
        mkdirSync(damaged)
        writeFileSync(join(damaged, "summary.json"), "{ not json")
        const onDamaged = yield* runCli(...tiny(damaged))
        expect(onDamaged.message).toMatch(
          /holds another run \(a summary\.json that does not parse\): its summary\.json does not parse/
        )
      }),
    120_000
  )
})
