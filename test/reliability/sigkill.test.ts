/**
 * The "done when": a training process killed at random moments while it writes its
 * checkpoints leaves every checkpoint on disk loadable.
 *
 * Starting a process costs seconds (tsx, Effect, tfjs), so each writer is killed once with
 * SIGKILL, and before that frozen with SIGSTOP at many random moments during its writes: what is
 * on disk while a process is frozen is exactly what a SIGKILL at that moment would leave (the
 * kernel finishes nothing more for it either way), so each freeze is inspected as a kill would be.
 * Moments are drawn within writes: a random delay, up to a typical write's duration, after the
 * writer says it begins one.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/data/random.js"
import { readCheckpoint } from "../../src/pipeline/checkpoint.js"
import { checkpointFiles, repoRoot } from "./helpers.js"

const PROCESSES = 2
const MOMENTS = 50

/** Lines of the writer's stdout as they come, with the time each arrived. */
const lines = (child: ChildProcess) => {
  const seen: Array<{ text: string; at: number }> = []
  let waiting: Array<{ test: (t: string) => boolean; resolve: () => void }> = []
  let rest = ""
  let exited = false
  child.once("exit", () => {
    exited = true
    for (const w of waiting) w.resolve()
  })
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n")
    rest = parts.pop()!
    for (const text of parts) {
      seen.push({ text, at: performance.now() })
      const done = waiting.filter((w) => w.test(text))
      waiting = waiting.filter((w) => !w.test(text))
      for (const w of done) w.resolve()
    }
  })
  const next = (test: (t: string) => boolean) =>
    new Promise<void>((resolve) => {
      if (exited) return resolve()
      waiting.push({ test, resolve })
    }).then(() => {
      if (exited) throw new Error(`the writer exited early:\n${seen.map((s) => s.text).join("\n")}`)
    })
  return { seen, next }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every checkpoint in the folder loads, with its tensors and settings intact. */
const inspect = async (folder: string) => {
  const files = checkpointFiles(folder)
  const snapshots = await Effect.runPromise(Effect.forEach(files, (f) => readCheckpoint(join(folder, f))))
  for (const s of snapshots) expect(s.settings.codeDim).toBe(96)
  return { files: files.length, temps: readdirSync(folder).filter((n) => n.includes(".tmp-")).length }
}

describe("checkpoints under SIGKILL", () => {
  it(`stay loadable at ${MOMENTS} random moments during writes, and after ${PROCESSES} kills`, async () => {
    const rng = makeRng(20261127)
    let inspected = 0
    let tornTemps = 0
    for (let p = 0; p < PROCESSES; p++) {
      const folder = mkdtempSync(join(tmpdir(), "sigkill-"))
      const child = spawn(process.execPath, ["--import", "tsx", "test/reliability/checkpoint-writer.ts", folder], { cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] })
      const out = lines(child)
      try {
        // A typical write's duration, from the first few, bounds the random delays.
        await out.next((t) => t === "end 3")
        const spans = [1, 2, 3].map((n) => out.seen.find((s) => s.text === `end ${n}`)!.at - out.seen.find((s) => s.text === `begin ${n}`)!.at)
        const span = Math.max(1, spans.sort((a, b) => a - b)[1])
        const moments = Math.ceil(MOMENTS / PROCESSES)
        for (let m = 0; m <= moments; m++) {
          await out.next((t) => t.startsWith("begin "))
          await sleep(rng.next() * span)
          if (m === moments) {
            child.kill("SIGKILL")
            await new Promise((r) => child.once("exit", r))
          } else child.kill("SIGSTOP")
          const seen = await inspect(folder)
          expect(seen.files).toBeGreaterThan(0)
          tornTemps += seen.temps
          inspected += 1
          if (m < moments) child.kill("SIGCONT")
        }
      } finally {
        child.kill("SIGKILL")
      }
    }
    expect(inspected).toBeGreaterThanOrEqual(MOMENTS)
    console.info(`inspected ${inspected} moments (${PROCESSES} of them after a SIGKILL); unfinished temp files seen beside the checkpoints: ${tornTemps}`)
  }, 300_000)
})
