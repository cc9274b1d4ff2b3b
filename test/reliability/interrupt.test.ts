/**
 * Ctrl-C and SIGTERM on the command as a person runs it: the run stops after the current batch,
 * saves where it stands, says how to resume and exits non-zero; a second signal ends it at once,
 * and what is on disk still loads. The three runs go concurrently to share their start-up time.
 */
import { Effect } from "effect"
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import { readResumePoint } from "../../src/pipeline/train/resume.js"
import { trainRun } from "../../src/pipeline/train/run.js"
import { runCli, type Spawned, spawnCommand } from "../helpers/commands.js"
import { checkpointFiles, cliData, env, metricsWithoutTimes } from "../helpers/mnist-runs.js"

const small = [
  "--model",
  "sdl",
  "--code-dim",
  "16",
  "--batch-size",
  "50",
  "--train-size",
  "300",
  "--backend",
  "wasm",
  "--seed",
  "3"
]

/** Big enough that saving it takes a while, so a second signal lands during the save. */
const big = [
  "--model",
  "sdl-nl",
  "--code-dim",
  "256",
  "--hidden",
  "1024",
  "--batch-size",
  "10",
  "--train-size",
  "30",
  "--max-steps",
  "3",
  "--backend",
  "wasm"
]

const loadsAll = (folder: string) =>
  Effect.runPromise(Effect.forEach(checkpointFiles(folder), (f) => readCheckpoint(join(folder, f))))

describe("signals", () => {
  it("SIGINT and SIGTERM stop after a batch, save, and resume to the numbers of an unstopped run; a second SIGINT quits at once", async () => {
    const root = mkdtempSync(join(tmpdir(), "signals-"))
    const [intDir, termDir, twiceDir] = ["int", "term", "twice"].map((n) => join(root, n))
    const byInt = spawnCommand("experiments/mnist.ts", [...small, "--epochs", "4", "--out", intDir])
    const byTerm = spawnCommand("experiments/mnist.ts", [...small, "--epochs", "30", "--out", termDir])
    const twice = spawnCommand("experiments/mnist.ts", [...big, "--epochs", "30", "--out", twiceDir])

    const stopAfterFirstEpoch = async (run: Spawned, signal: NodeJS.Signals) => {
      await run.waitFor(/epoch 1\/\d+ /)
      run.child.kill(signal)
      return run.exited
    }
    const [intExit, termExit, twiceExit] = await Promise.all([
      stopAfterFirstEpoch(byInt, "SIGINT"),
      stopAfterFirstEpoch(byTerm, "SIGTERM"),
      (async () => {
        await twice.waitFor(/epoch 1\/\d+ /)
        twice.child.kill("SIGINT")
        await twice.waitFor(/SIGINT: stopping after the current batch/)
        const sent = performance.now()
        twice.child.kill("SIGINT")
        const exit = await twice.exited
        return { ...exit, afterSecond: exit.at - sent }
      })()
    ])

    for (const [run, exit, dir, code] of [
      [byInt, intExit, intDir, 130],
      [byTerm, termExit, termDir, 143]
    ] as const) {
      expect(exit.code, run.output()).toBe(code)
      const said = /interrupted at epoch (\d+) batch (\d+); saved (.*); resume with --resume (.*)\n/.exec(run.output())
      expect(said, run.output()).not.toBeNull()
      expect(said![3]).toBe(join(dir, "last.safetensors"))
      expect(said![4]).toBe(dir)
      const point = await Effect.runPromise(readResumePoint(dir))
      expect(point.progress.next.epoch + 1).toBe(Number(said![1]))
      expect(point.progress.next.batch).toBe(Number(said![2]))
      await loadsAll(dir)
    }

    // The second SIGINT either found the run still saving, and killed it there, or came after it
    // had finished stopping; either way at once, and nothing on disk is torn.
    expect(twiceExit.signal === "SIGINT" || twiceExit.code === 130, twice.output()).toBe(true)
    expect(twiceExit.afterSecond).toBeLessThan(2000)
    expect(existsSync(join(twiceDir, "last.safetensors"))).toBe(true)
    await loadsAll(twiceDir)
    console.info(
      `second SIGINT: ${twiceExit.signal === "SIGINT" ? "killed the process while it was saving" : "arrived after it had stopped"} (${twiceExit.afterSecond.toFixed(0)} ms); files left: ${readdirSync(twiceDir).join(", ")}`
    )

    // Resumed from wherever the signal stopped it, the run ends as one never stopped.
    await Effect.runPromise(
      Effect.gen(function* () {
        const resumed = yield* runCli("--resume", intDir)
        expect(resumed).toEqual({ ok: true, message: "" })
        const settings = yield* resolveSettings("sdl", "mnist", { codeDim: 16, batchSize: 50 })
        yield* trainRun(
          { model: "sdl", settings: { ...settings, epochs: 4 }, epochs: 4, seed: 3, out: join(root, "straight") },
          yield* cliData(300, 3)
        )
      }).pipe(Effect.provide(env("wasm")))
    )
    expect(metricsWithoutTimes(intDir)).toStrictEqual(metricsWithoutTimes(join(root, "straight")))
  }, 240_000)
})
