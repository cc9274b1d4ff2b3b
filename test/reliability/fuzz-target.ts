/**
 * The readers under fuzzing, in a process of their own so that the test can time out a case that
 * hangs (a synchronous loop cannot be interrupted from inside its own thread) and kill it. Each
 * case arrives as a message; the reply says how the reader ended: "ok", "typed TAG: message", or
 * "defect ..." / "threw ..." for an exception that escaped as one.
 *   child_process.fork("test/reliability/fuzz-target.ts", { execArgv: ["--import", "tsx"], serialization: "advanced" })
 */
import { NodeContext } from "@effect/platform-node"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Cause, Effect, Exit, Option } from "effect"
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readIdxFile } from "../../src/data/idx.js"
import { loadMnistDir } from "../../src/data/mnist/idx-folder.js"
import { disposeModel, makeModel } from "../../src/models/model.js"
import { readCheckpoint, restoreSnapshot } from "../../src/pipeline/train/checkpoint.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"

export interface FuzzCase {
  readonly id: number
  /** idx: the file alone; mnist: as one of the four files of an MNIST folder; checkpoint: read and loaded into a model. */
  readonly reader: "idx" | "mnist" | "checkpoint"
  /** For mnist: which of the four files the bytes replace. */
  readonly slot?: string
  readonly bytes: Uint8Array
}

export interface FuzzReply {
  readonly id: number
  readonly outcome: string
}

const expected = new Set(["IdxFormatError", "DataSourceError", "CheckpointError"])
const fixture = join(import.meta.dirname, "..", "fixtures", "mnist-small")
const work = mkdtempSync(join(tmpdir(), "fuzz-"))
const mnistFiles = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte"
]

const describeExit = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { _tag?: string; message?: string }
    return e._tag !== undefined && expected.has(e._tag)
      ? `typed ${e._tag}: ${e.message}`
      : `untyped ${String(e._tag)}: ${String(e.message)}`
  }
  return `defect ${Cause.pretty(exit.cause).split("\n").slice(0, 6).join(" | ")}`
}

const run = (c: FuzzCase): Effect.Effect<unknown, unknown> => {
  switch (c.reader) {
    case "idx": {
      const path = join(work, "case-idx")
      writeFileSync(path, c.bytes)
      return readIdxFile(path).pipe(Effect.provide(NodeContext.layer))
    }
    case "mnist": {
      const dir = mkdtempSync(join(work, "mnist-"))
      for (const name of mnistFiles)
        if (name !== c.slot) copyFileSync(join(fixture, `${name}.gz`), join(dir, `${name}.gz`))
      writeFileSync(join(dir, c.slot!), c.bytes)
      return loadMnistDir(dir).pipe(Effect.provide(NodeContext.layer))
    }
    case "checkpoint": {
      const path = join(work, "case.safetensors")
      writeFileSync(path, c.bytes)
      // A checkpoint that reads must also load into the model its own settings describe: a
      // failure there is a defect of the reader, which let an inconsistent file through.
      return readCheckpoint(path).pipe(
        Effect.flatMap((s) =>
          Effect.acquireUseRelease(
            Effect.sync(() => makeModel(s.settings, s.inputDim, rngFor(0, "init"))),
            (m) => restoreSnapshot(m, s, path).pipe(Effect.orDie),
            (m) => Effect.sync(() => disposeModel(m))
          )
        )
      )
    }
  }
}

await tf.setBackend("cpu")
process.on("message", (c: FuzzCase) => {
  let reply: FuzzReply
  Effect.runPromiseExit(Effect.suspend(() => run(c)))
    .then((exit) => (reply = { id: c.id, outcome: describeExit(exit) }))
    .catch((e: unknown) => (reply = { id: c.id, outcome: `threw ${e instanceof Error ? e.stack : String(e)}` }))
    .finally(() => process.send!(reply))
})
process.send!({ id: -1, outcome: "ready" })
