/**
 * The "done when": a training process killed with SIGKILL at random moments while it
 * writes its checkpoints leaves every checkpoint on disk loadable.
 *
 * Fifty training processes (checkpoint-writer.ts: a real training step, then both checkpoints
 * written as a run writes them, in a loop) are started one after another on the same folder, as
 * a run restarted after each crash would be, and each is killed with SIGKILL at a random moment
 * within one of its first writes: after it says it begins write K (K random), a random delay up
 * to a typical write's duration. After each kill every checkpoint in the folder is loaded.
 *
 * Starting a process through tsx costs seconds (Effect alone is hundreds of modules), so the
 * writer is bundled once with esbuild and started with plain node.
 */
import { Effect } from "effect"
import { build } from "esbuild"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeRng } from "../../src/data/random.js"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { repoRoot } from "../helpers/commands.js"
import { checkpointFiles } from "../helpers/mnist-runs.js"

const KILLS = 50

/** Lines of the writer's stdout as they come, with the time each arrived. */
const lines = (child: ChildProcess) => {
  const seen: Array<{ text: string; at: number }> = []
  let waiting: Array<{ test: (t: string) => boolean; resolve: () => void }> = []
  let rest = ""
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true
      for (const w of waiting) w.resolve()
      resolve()
    })
  )
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
  // The pipe may still hold lines when the process is gone: read to its end.
  const closed = new Promise<void>((resolve) => child.stdout!.once("close", () => resolve()))
  return { seen, next, exit, closed }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every checkpoint in the folder loads, with its tensors (checked against their SHA-256) and settings intact. */
const inspect = async (folder: string) => {
  const files = checkpointFiles(folder)
  const snapshots = await Effect.runPromise(Effect.forEach(files, (f) => readCheckpoint(join(folder, f))))
  for (const s of snapshots) expect(s.settings.codeDim).toBe(96)
  return { files: files.length, temps: readdirSync(folder).filter((n) => n.includes(".tmp-")).length }
}

let writer: string

beforeAll(async () => {
  // Beside node_modules, so that the packages left out of the bundle resolve from there.
  const dir = join(repoRoot, "node_modules", ".cache", "sparse-vdl-tests")
  mkdirSync(dir, { recursive: true })
  writer = join(mkdtempSync(join(dir, "writer-")), "checkpoint-writer.mjs")
  await build({
    entryPoints: [join(repoRoot, "test", "reliability", "checkpoint-writer.ts")],
    outfile: writer,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // tfjs registers its backends by side effect, which a bundle would drop.
    external: ["@tensorflow/*"],
    logLevel: "error"
  })
}, 120_000)

afterAll(() => {
  if (writer !== undefined) rmSync(dirname(writer), { recursive: true, force: true })
})

describe("checkpoints under SIGKILL", () => {
  it(`stay loadable after ${KILLS} kills at random moments during writes`, async () => {
    const rng = makeRng(20261127)
    const folder = mkdtempSync(join(tmpdir(), "sigkill-"))
    // Durations of the writes seen so far: a typical one bounds the random delays.
    const spans: number[] = []
    const typical = () => (spans.length === 0 ? 30 : [...spans].sort((a, b) => a - b)[Math.floor(spans.length / 2)])
    let inside = 0
    let loaded = 0
    let temps = 0
    for (let k = 0; k < KILLS; k++) {
      const child = spawn(process.execPath, [writer, folder], { cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] })
      const out = lines(child)
      try {
        // The first process writes once whole before it can be killed, so that the folder has a checkpoint.
        const write = (k === 0 ? 2 : 1) + Math.floor(rng.next() * 3)
        await out.next((t) => t === `begin ${write}`)
        await sleep(rng.next() * typical())
        child.kill("SIGKILL")
        await out.exit
        await out.closed
      } finally {
        child.kill("SIGKILL")
      }
      for (let n = 1; ; n++) {
        const begin = out.seen.find((s) => s.text === `begin ${n}`)
        const end = out.seen.find((s) => s.text === `end ${n}`)
        if (begin === undefined) break
        if (end === undefined) inside += 1
        else spans.push(end.at - begin.at)
      }
      const seen = await inspect(folder)
      expect(seen.files).toBeGreaterThan(0)
      loaded += seen.files
      temps = seen.temps
    }
    console.info(
      `${KILLS} processes killed with SIGKILL, ${inside} of them inside a write (it had begun and not ended); ` +
        `${loaded} checkpoint loads after the kills, all whole; typical write ${typical().toFixed(1)} ms; ` +
        `unfinished temp files left beside the checkpoints at the end: ${temps}`
    )
    // Most kills must land inside a write, or the test would not test what it says.
    expect(inside).toBeGreaterThanOrEqual(KILLS / 2)
  }, 600_000)
})
