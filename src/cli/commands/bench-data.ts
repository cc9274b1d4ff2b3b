/**
 * How the cost of the data grows with the patch set (issue 15): for each size, build a patch file
 * from photos, then train a few batches on it, read whole and streamed from disk, each step in a
 * process of its own so that its peak resident memory is its own. Prints a table (and one JSON
 * line per measurement on stdout); the command `sparse-vdl bench-data`.
 *   npx tsx experiments/bench-data.ts --scaling --images bsds500/train --images bsds500/val --test-images bsds500/test --rows 50000,200000,1000000
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { presetFor, variantNames, variantOf } from "../../models/variants.js"
import type { PatchReading } from "../../pipeline/patches/datasets.js"
import { backendOption, choiceOption, modelOption, seedOption, zeroOrMore } from "../options.js"

const peakRssMb = () => Number((process.resourceUsage().maxRSS / 1024).toFixed(1))

const folders = (values: readonly string[]): string[] =>
  values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "")

const CHILD_TAG = "bench-data child: "

/** Runs this command again in a new process with `args` and returns the JSON line it reports. */
const inChild = (args: readonly string[]) =>
  Effect.try({
    try: () => {
      // Under tsx, execArgv carries its loader; under the built program, argv[1] is bin.js and the command must be named.
      const command = process.argv.includes("bench-data") ? ["bench-data"] : []
      const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...command, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 26
      })
      const line = r.stdout.split("\n").find((l) => l.startsWith(CHILD_TAG))
      if (r.status !== 0 || line === undefined)
        throw new Error(
          `bench-data: the child ${args.join(" ")} ended with status ${r.status}${r.signal === null ? "" : ` (${r.signal})`} without a result`
        )
      return JSON.parse(line.slice(CHILD_TAG.length)) as Record<string, number | string | boolean>
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })

const report = (result: Record<string, unknown>) =>
  Effect.sync(() => process.stdout.write(`${CHILD_TAG}${JSON.stringify(result)}\n`))

/** Child: build one patch file. */
const buildChild = (o: {
  images: string[]
  testImages: string[]
  out: string
  train: number
  val: number
  test: number
  seed: number
}) =>
  Effect.gen(function* () {
    const { buildPatchFile } = yield* Effect.promise(() => import("../../pipeline/patches/build.js"))
    const started = performance.now()
    const r = yield* buildPatchFile({
      images: o.images,
      testImages: o.testImages,
      out: o.out,
      sizes: { train: o.train, val: o.val, test: o.test },
      seed: o.seed
    })
    yield* report({
      buildSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      buildPeakRssMb: peakRssMb(),
      fileMb: Number((statSync(o.out).size / 2 ** 20).toFixed(0)),
      keptFraction: r.keptFraction
    })
  })

/** Child: open a patch file one way and train `batches` batches on it. */
const trainChild = (o: { data: string; reading: PatchReading; model: string; batches: number; seed: number }) =>
  Effect.gen(function* () {
    const [{ loadPatchSplits }, { trainingLoop }] = yield* Effect.promise(() =>
      Promise.all([import("../../pipeline/patches/datasets.js"), import("../../pipeline/train/loop.js")])
    )
    const opened = performance.now()
    const { file, splits } = yield* loadPatchSplits(o.data, undefined, { reading: o.reading })
    const openSeconds = (performance.now() - opened) / 1000
    const openRssMb = peakRssMb()
    const variant = variantOf(o.model)
    if (variant === undefined)
      return yield* Effect.fail(
        new Error(`--model: unknown model ${o.model}; choose from ${variantNames().join(", ")}`)
      )
    const settings = presetFor(variant, "patches").settings
    // Speed over the batches after the first (which carries the backend's warm-up).
    let first: { rows: number; seconds: number } | null = null
    let seconds = 0
    let rows = 0
    let done = 0
    yield* Effect.scoped(
      trainingLoop(
        {
          model: o.model,
          settings,
          epochs: 1,
          seed: o.seed,
          batchLimit: o.batches,
          hooks: [
            {
              onBatch: (b) =>
                Effect.sync(() => {
                  done += 1
                  rows += b.totals.rows
                  seconds = b.seconds
                  first ??= { rows, seconds }
                })
            }
          ]
        },
        splits
      )
    )
    const warm = first as { rows: number; seconds: number } | null
    yield* report({
      reading: file.streamed ? "stream" : "memory",
      openSeconds: Number(openSeconds.toFixed(1)),
      openPeakRssMb: openRssMb,
      batches: done,
      trainSamplesPerSecond:
        warm === null || done < 2 ? null : Number(((rows - warm.rows) / (seconds - warm.seconds)).toFixed(0)),
      trainPeakRssMb: peakRssMb()
    })
  })

export const benchDataCommand = Command.make(
  "bench-data",
  {
    scaling: Options.boolean("scaling").pipe(
      Options.withDescription(
        "measure build time and training memory against the number of training patches (the only mode so far)"
      )
    ),
    images: Options.text("images").pipe(
      Options.withDescription("photo folder(s) for train/validation patches, as `patches build`"),
      zeroOrMore
    ),
    testImages: Options.text("test-images").pipe(
      Options.withDescription("photo folder(s) for test patches, as `patches build`"),
      zeroOrMore
    ),
    rows: Options.text("rows").pipe(
      Options.withDescription("training patches of each patch set, a comma list (default 50000,200000,1000000)"),
      Options.withDefault("50000,200000,1000000")
    ),
    val: Options.integer("val").pipe(
      Options.withDescription("validation patches of every set (default 5,000)"),
      Options.withDefault(5000)
    ),
    test: Options.integer("test").pipe(
      Options.withDescription("test patches of every set (default 5,000)"),
      Options.withDefault(5000)
    ),
    memoryUpTo: Options.integer("memory-up-to").pipe(
      Options.withDescription(
        "also train with the file read whole into memory for sets of at most this many training patches (default 200,000: a million are 9.4 GB)"
      ),
      Options.withDefault(200_000)
    ),
    batches: Options.integer("batches").pipe(
      Options.withDescription("training batches per measurement (default 40)"),
      Options.withDefault(40)
    ),
    work: Options.text("work").pipe(
      Options.withDescription(
        "folder for the patch files, each removed after its measurements (default: a new temporary folder)"
      ),
      Options.optional
    ),
    model: modelOption,
    seed: seedOption,
    backend: backendOption,
    child: choiceOption("child", ["none", "build", "train"] as const).pipe(
      Options.withDescription("internal: one measurement in this process"),
      Options.withDefault("none" as const)
    ),
    data: Options.text("data").pipe(
      Options.withDescription("internal: the patch file of a child"),
      Options.withDefault("")
    ),
    reading: choiceOption("reading", ["memory", "stream"] as const).pipe(
      Options.withDescription("internal: how a training child reads its file"),
      Options.withDefault("stream" as const)
    )
  },
  (o) =>
    Effect.gen(function* () {
      const rows = o.rows.split(",").map((r) => Number(r.trim()))
      if (rows.some((r) => !(Number.isSafeInteger(r) && r > 0)))
        return yield* Effect.fail(new Error(`--rows: ${o.rows} is not a comma list of whole numbers above 0`))
      if (o.child === "build")
        return yield* buildChild({
          images: folders(o.images),
          testImages: folders(o.testImages),
          out: o.data,
          train: rows[0],
          val: o.val,
          test: o.test,
          seed: o.seed
        })
      if (o.child === "train") {
        const { BackendLive } = yield* Effect.promise(() => import("../../pipeline/backend/backend.js"))
        return yield* trainChild({
          data: o.data,
          reading: o.reading,
          model: o.model,
          batches: o.batches,
          seed: o.seed
        }).pipe(Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
      }
      if (!o.scaling)
        return yield* Effect.fail(new Error("bench-data: pass --scaling (the only benchmark it runs so far)"))
      if (folders(o.images).length === 0)
        return yield* Effect.fail(
          new Error(
            "bench-data --scaling: pass --images DIR (and --test-images DIR) with the photos to cut patches from"
          )
        )
      const work = Option.getOrElse(o.work, () => mkdtempSync(join(tmpdir(), "bench-data-")))
      mkdirSync(work, { recursive: true })
      const common = [
        "--seed",
        String(o.seed),
        "--model",
        o.model,
        ...(Option.isSome(o.backend) ? ["--backend", o.backend.value] : [])
      ]
      const table: Array<Record<string, unknown>> = []
      for (const n of rows) {
        const data = join(work, `patches-${n}.arrow`)
        yield* Effect.logInfo(`bench-data: ${n} training patches: building ${data}`)
        const built = yield* inChild([
          "--child",
          "build",
          "--data",
          data,
          "--rows",
          String(n),
          "--val",
          String(o.val),
          "--test",
          String(o.test),
          ...folders(o.images).flatMap((d) => ["--images", d]),
          ...folders(o.testImages).flatMap((d) => ["--test-images", d]),
          ...common
        ])
        console.log(JSON.stringify({ rows: n, ...built }))
        for (const reading of n <= o.memoryUpTo ? (["memory", "stream"] as const) : (["stream"] as const)) {
          yield* Effect.logInfo(
            `bench-data: ${n} training patches: ${o.batches} batches, the file read ${reading === "memory" ? "whole" : "a record batch at a time"}`
          )
          const trained = yield* inChild([
            "--child",
            "train",
            "--data",
            data,
            "--reading",
            reading,
            "--batches",
            String(o.batches),
            ...common
          ])
          console.log(JSON.stringify({ rows: n, ...trained }))
          table.push({ rows: n, ...built, ...trained })
        }
        rmSync(data, { force: true })
        rmSync(`${data}.json`, { force: true })
      }
      if (Option.isNone(o.work)) rmSync(work, { recursive: true, force: true })
      const cols = [
        "rows",
        "fileMb",
        "buildSeconds",
        "buildPeakRssMb",
        "reading",
        "openSeconds",
        "trainSamplesPerSecond",
        "trainPeakRssMb"
      ]
      const lines = [
        cols.join(" | "),
        cols.map(() => "---").join(" | "),
        ...table.map((r) => cols.map((c) => String(r[c] ?? "")).join(" | "))
      ]
      process.stderr.write(`\n${lines.join("\n")}\n`)
    })
)
