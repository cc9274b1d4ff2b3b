/**
 * Randomly damaged IDX files and checkpoints — bit flips, truncation, garbage, edited headers —
 * fed to the readers: every failure must be a typed error, never an exception and never a hang.
 * The readers run in a child process (fuzz-target.ts) so that each case can be timed out.
 */
import * as fc from "fast-check"
import { type ChildProcess, fork } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { encodeSnapshot, expectedShapes, type Snapshot } from "../../src/pipeline/train/checkpoint.js"
import { encodeImages, encodeLabels, gzip } from "../helpers/idx-writer.js"
import type { FuzzCase, FuzzReply } from "./fuzz-target.js"
import { applyDamage, damageArbitrary, extremes } from "./damage.js"
import { repoRoot } from "../helpers/commands.js"

const CASE_TIMEOUT_MS = 10_000
// A failing case is reported as found, without shrinking: after a hang the reader process is
// gone, and every smaller case would fail the same way.
const RUNS = 150

let child: ChildProcess
let dead: string | null = null
const pending = new Map<number, (r: FuzzReply) => void>()
let nextId = 0

/** One case through the child; a reply that does not come in time is a hang, and ends the child. */
const send = (c: Omit<FuzzCase, "id">): Promise<string> => {
  if (dead !== null) return Promise.resolve(dead)
  const id = nextId++
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      dead = `hang: no answer within ${CASE_TIMEOUT_MS} ms`
      child.kill("SIGKILL")
      resolve(dead)
    }, CASE_TIMEOUT_MS)
    pending.set(id, (r) => {
      clearTimeout(timer)
      resolve(r.outcome)
    })
    child.send({ ...c, id })
  })
}

beforeAll(async () => {
  child = fork(join(repoRoot, "test/reliability/fuzz-target.ts"), [], {
    cwd: repoRoot,
    execArgv: ["--import", "tsx"],
    serialization: "advanced",
    stdio: ["ignore", "ignore", "inherit", "ipc"]
  })
  await new Promise<void>((resolve, reject) => {
    child.on("message", (r: FuzzReply) => {
      if (r.id === -1) return resolve()
      pending.get(r.id)?.(r)
      pending.delete(r.id)
    })
    child.on("exit", (code, signal) => {
      dead ??= `the reader process exited (${code ?? signal})`
      for (const done of pending.values()) done({ id: -2, outcome: dead })
      reject(new Error(dead))
    })
  })
}, 120_000)

afterAll(() => {
  child?.kill("SIGKILL")
  console.info([...tally.entries()].map(([k, n]) => `${k}: ${n}`).join("\n"))
})

// ---------------------------------------------------------------------------------------------
// Damage

/** Up to 64 bytes of garbage, 32-bit fields set to extremes; the header is the prefix the damage favours. */
const damage = damageArbitrary({ maxBytes: 64, uint32: true })

/** How the cases ended, by reader and error, reported at the end so that a run shows what it covered. */
const tally = new Map<string, number>()

const expectTyped = (outcome: string, reader: string) => {
  const kind = outcome === "ok" ? "ok" : outcome.split(":")[0]
  tally.set(`${reader} ${kind}`, (tally.get(`${reader} ${kind}`) ?? 0) + 1)
  expect(outcome, outcome).toMatch(/^(ok|typed (IdxFormatError|DataSourceError|CheckpointError): )/)
}

// ---------------------------------------------------------------------------------------------
// IDX

const idxBase = fc.oneof(
  fc
    .record({
      count: fc.integer({ min: 0, max: 4 }),
      rows: fc.integer({ min: 1, max: 28 }),
      cols: fc.integer({ min: 1, max: 28 }),
      seed: fc.integer()
    })
    .map(({ count, rows, cols, seed }) =>
      encodeImages(
        count,
        rows,
        cols,
        Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 31 + seed) & 0xff)
      )
    ),
  fc.uint8Array({ minLength: 0, maxLength: 12 }).map((labels) => encodeLabels(labels.map((l) => l % 10)))
)

const idxCase = fc.record({
  base: idxBase,
  gzipped: fc.boolean(),
  damage: fc.array(damage, { minLength: 1, maxLength: 4 })
})

describe("fuzzed IDX files", () => {
  it("end in a typed error or a valid parse, read alone or as part of an MNIST folder", async () => {
    await fc.assert(
      fc.asyncProperty(
        idxCase,
        fc.constantFrom<FuzzCase["reader"]>("idx", "mnist"),
        fc.constantFrom("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        async (c, reader, slot) => {
          const plain = c.gzipped ? gzip(c.base) : c.base
          // In a gzipped file the header is compressed: damage anywhere.
          const bytes = applyDamage(plain, c.damage, c.gzipped ? plain.length : 16)
          expectTyped(await send({ reader, slot, bytes }), reader)
        }
      ),
      { numRuns: RUNS, seed: 6_2026, endOnFailure: true }
    )
  }, 240_000)

  it("end in a typed error for garbage of any length", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) =>
        expectTyped(await send({ reader: "idx", bytes }), "idx")
      ),
      { numRuns: 40, seed: 6_2027, endOnFailure: true }
    )
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** A checkpoint of a tiny model, with its tensors filled from the seed. */
const snapshotOf = (hidden: ReadonlyArray<number>, seed: number, withProgress: boolean): Snapshot => {
  const settings: ModelSettings = { ...variants.vdl.settings.mnist, codeDim: 3, hidden }
  const tensors = Object.fromEntries(
    Object.entries(expectedShapes(settings, 4)).map(([name, shape], k) => [
      name,
      {
        shape,
        data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + k * 7 + i))
      }
    ])
  )
  return {
    tensors,
    model: "vdl",
    settings,
    inputDim: 4,
    epoch: 2,
    optimizerScalars: { "encoder.adam.step": 10, "decoder.adam.step": 10 },
    ...(withProgress
      ? {
          progress: {
            seed: 1,
            epochs: 5,
            backend: "wasm",
            next: { epoch: 3, batch: 1 },
            orderState: 12345,
            partial: {
              totals: {
                rows: 2,
                energy: 1,
                psnr: 20,
                zeros: 1,
                entries: 6,
                hiddenZeros: 0,
                hiddenEntries: 0,
                fistaSteps: 4,
                fistaSeconds: 0.1,
                figureSeconds: 0.05,
                nonFiniteCodes: 0
              },
              seconds: 0.2
            },
            best: { epoch: 2, energy: 0.5 },
            trainSeconds: 3,
            data: { train: 10, val: 2, test: 2 },
            describe: { mnist: { kind: "embedded" }, trainSize: null }
          }
        }
      : {})
  }
}

const headerLengthOf = (bytes: Uint8Array) =>
  8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))

/** Re-encodes a checkpoint with one value of its JSON header replaced: damage a parser cannot see as broken JSON. */
const editHeader = (bytes: Uint8Array, pick: number, replacement: unknown): Uint8Array => {
  const end = headerLengthOf(bytes)
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, end))) as Record<string, Record<string, unknown>>
  const paths: Array<[Record<string, unknown>, string]> = []
  const walk = (o: Record<string, unknown>) => {
    for (const k of Object.keys(o)) {
      paths.push([o, k])
      if (o[k] !== null && typeof o[k] === "object") walk(o[k] as Record<string, unknown>)
    }
  }
  walk(header)
  // Metadata values are strings of JSON themselves: edit inside them too.
  const meta = header.__metadata__ as Record<string, string>
  const inner: Record<string, unknown> = {}
  for (const k of ["settings", "progress", "optimizerScalars"])
    if (meta[k] !== undefined) inner[k] = JSON.parse(meta[k])
  walk(inner)
  const [owner, key] = paths[pick % paths.length]
  owner[key] = replacement
  for (const k of Object.keys(inner)) meta[k] = JSON.stringify(inner[k])
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + (bytes.length - end))
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  out.set(bytes.subarray(end), 8 + json.length)
  return out
}

const checkpointCase = fc.record({
  hidden: fc.constantFrom([], [2], [2, 3]),
  seed: fc.integer({ min: 0, max: 1000 }),
  withProgress: fc.boolean(),
  edit: fc.option(
    fc.record({
      pick: fc.nat(),
      value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), extremes, fc.constantFrom(-1, 0.5, 1e9, "F64", [], [1e9, 1e9]))
    }),
    { nil: undefined }
  ),
  damage: fc.array(damage, { minLength: 0, maxLength: 3 })
})

describe("fuzzed checkpoints", () => {
  it("end in a typed error, or load into the model their settings describe", async () => {
    let loaded = 0
    await fc.assert(
      fc.asyncProperty(checkpointCase, async (c) => {
        let bytes = encodeSnapshot(snapshotOf(c.hidden, c.seed, c.withProgress))
        if (c.edit !== undefined) bytes = editHeader(bytes, c.edit.pick, c.edit.value)
        bytes = applyDamage(bytes, c.damage, headerLengthOf(bytes))
        const outcome = await send({ reader: "checkpoint", bytes })
        expectTyped(outcome, "checkpoint")
        if (outcome === "ok") loaded += 1
      }),
      { numRuns: RUNS * 2, seed: 6_2028, endOnFailure: true }
    )
    // Undamaged cases and harmless edits load: the property is not passing by refusing everything.
    expect(loaded).toBeGreaterThan(0)
  }, 240_000)

  it("end in a typed error for garbage of any length", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) =>
        expectTyped(await send({ reader: "checkpoint", bytes }), "checkpoint")
      ),
      { numRuns: 40, seed: 6_2029, endOnFailure: true }
    )
  }, 120_000)
})
