/**
 * Throughput benchmark of training and inference at the paper's MNIST settings, optionally side
 * by side with a PyTorch implementation of the same training loop on the same machine: by default
 * our own, experiments/torch_reference.py, shipped with the package (docs/benchmarks.md says what
 * another script must offer to take its place).
 *   npx tsx experiments/bench.ts --mnist-dir path/to/mnist --batches 220 --vs-torch
 * Prints a table, then one JSON line per model (and per torch run) on stdout.
 */
import { Command, Options } from "@effect/cli"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Option, Stream } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { addTotals, averageTotals, type BatchTotals, emptyTotals, type SparseCodingModel } from "../../models/model.js"
import { readTidy } from "../../models/read.js"
import { variantOf, variants } from "../../models/variants.js"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { Backend, BackendLive } from "../../pipeline/backend/backend.js"
import { snapshotModel, writeCheckpoint } from "../../pipeline/train/checkpoint.js"
import { batchCount, batchStream, type Dataset, mapSplits } from "../../pipeline/sources/dataset.js"
import { batchCodes } from "../../pipeline/evaluation/codes.js"
import { loadMnist, normalizeMnistStage, splitStage } from "../../pipeline/sources/mnist.js"
import { withBatchTensor } from "../../pipeline/backend/resources.js"
import { installNativeMatMul } from "../../pipeline/backend/native-matmul.js"
import { type ProductTiming, shapeTally, timeProductShapes } from "../../pipeline/backend/product-threads.js"
import { trainingLoop } from "../../pipeline/train/loop.js"
import { rngFor } from "../../pipeline/train/seeds.js"
import { evaluate } from "../../pipeline/train/epoch.js"
import { backendOption, choiceOption, seedOption } from "../options.js"
import { inferenceNames } from "../../models/inference/registry.js"
import type { ModelSettings } from "../../models/settings.js"

const rssMb = () => process.memoryUsage().rss / 2 ** 20
const peakRssMb = () => process.resourceUsage().maxRSS / 1024

/** Seconds per call of a plain matMul of the given shape, and its GFLOP/s. */
const plainMatMul = (n: number, k: number, m: number) => {
  const a = tf.randomUniform([n, k]) as tf.Tensor2D
  const b = tf.randomUniform([k, m]) as tf.Tensor2D
  const run = () => readTidy(() => tf.matMul(a, b))
  for (let i = 0; i < 3; i++) run()
  const reps = Math.max(5, Math.min(200, Math.round(2e9 / (2 * n * k * m))))
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) run()
  const seconds = (performance.now() - t0) / 1000 / reps
  a.dispose()
  b.dispose()
  return { shape: `${n}x${k}x${m}`, gflops: (2 * n * k * m) / seconds / 1e9 }
}

/** Multiply-adds per live row and FISTA step: the decoder products of the gradient. */
const flopsPerRowStep = (l: number, hidden: ReadonlyArray<number>, d: number): number => {
  if (hidden.length === 0) return 2 * l * l // Gram form: one row of z·G
  const widths = [l, ...hidden]
  let f = 0
  for (let k = 0; k + 1 < widths.length; k++) f += 2 * 2 * widths[k] * widths[k + 1] // forward and back
  const m = hidden[hidden.length - 1]
  f += m < 2 * d ? 2 * m * m : 2 * 2 * m * d
  return f
}

/**
 * Multiply-adds per training row of the rest of a step, counted as 2 flops each: the encoder's
 * LISTA pass (W, then S once per step) forward and its gradients (twice the forward), and the
 * decoder's forward pass on Z* with its weight gradients (twice the forward).
 */
const updateFlopsPerRow = (l: number, hidden: ReadonlyArray<number>, d: number, listaSteps: number): number => {
  const encoderForward = 2 * d * l + listaSteps * 2 * l * l
  const widths = [l, ...hidden, d]
  let decoderForward = 0
  for (let k = 0; k + 1 < widths.length; k++) decoderForward += 2 * widths[k] * widths[k + 1]
  return 3 * encoderForward + 3 * decoderForward
}

/** The median, to 0.1 (speeds are printed that way). */
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return Number((s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2).toFixed(1))
}

/** A temporary folder removed when the command ends. */
const scratchDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bench-start-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The PyTorch implementation shipped with the package, the default --torch-script. */
export const shippedTorchReference = fileURLToPath(new URL("../../../experiments/torch_reference.py", import.meta.url))

/** The wrapper that starts a reference from our starting point and records its energy. */
const torchEnergyScript = fileURLToPath(new URL("../../../experiments/torch_energy.py", import.meta.url))

/**
 * Our starting point for the reference (experiments/torch_energy.py --start): the initial weights
 * and the shuffle of every epoch the run will take, drawn from a second copy of the order stream.
 * The training loop draws its shuffles from the same stream (rngFor(seed, "order")), so a run
 * started with this seed visits the rows in the order written.
 */
export const writeStart = (
  dir: string,
  name: string,
  model: SparseCodingModel,
  rows: number,
  epochs: number,
  seed: number
) =>
  Effect.gen(function* () {
    yield* writeCheckpoint(join(dir, "start.safetensors"), snapshotModel(model, name, -1))
    const order = rngFor(seed, "order")
    const perms = new Int32Array(rows * epochs)
    for (let e = 0; e < epochs; e++) perms.set(order.permutation(rows), e * rows)
    yield* writeFileAtomic(join(dir, "order.i32"), new Uint8Array(perms.buffer))
  })

/**
 * One run of ours. `compareBatches` (at most `batches`) is where the reference stops when it runs
 * fewer batches (--torch-batches): the figures of our first `compareBatches` batches, taken the
 * same way (the last quarter of them; validation after the last), are kept in `atCompare` so
 * that the two are compared over the same batches from the same start.
 */
const benchModel = (
  name: string,
  data: { train: Dataset; val: Dataset },
  batches: number,
  seed: number,
  startDir: string | null,
  compareBatches: number = batches,
  shape: {
    readonly batchSize?: number
    readonly codeDim?: number
    readonly inference?: ModelSettings["inference"]
  } = {}
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const backend = yield* Backend
      const settings = { ...variantOf(name)!.settings.mnist, ...shape }
      // A fresh shuffle per epoch, the last partial batch dropped, as the torch reference does.
      const perEpoch = batchCount(data.train, settings.batchSize, true)
      const epochs = Math.ceil(batches / perEpoch)
      const rss: number[] = []
      const tensors: number[] = []
      const measure = () => {
        rss.push(rssMb())
        tensors.push(tf.memory().numTensors)
      }
      const last: BatchTotals[] = []
      const lastCompared: BatchTotals[] = []
      let valCompared: Effect.Effect.Success<ReturnType<typeof evaluate>> | null = null
      // Validation at compareBatches runs inside the loop; its time is kept out of the loop's.
      let compareSeconds = 0
      let totals = emptyTotals
      // The region the torch reference times: encoder, FISTA and both updates, without batch
      // assembly, figures and progress.
      let stepSeconds = 0
      // Training time alone: the loop's validation between epochs is not part of the benchmark.
      let seconds = 0
      let done = 0
      const { model } = yield* trainingLoop(
        {
          model: name,
          settings,
          epochs,
          seed,
          batchLimit: batches,
          hooks: [
            {
              onStart: ({ model }) =>
                (startDir === null
                  ? Effect.void
                  : writeStart(startDir, name, model, data.train.rows, epochs, seed)
                ).pipe(Effect.tap(() => Effect.sync(measure))),
              onBatch: (b) =>
                Effect.gen(function* () {
                  done += 1
                  totals = addTotals(totals, b.totals)
                  stepSeconds += b.stepSeconds - b.totals.figureSeconds
                  if (done > batches - Math.max(1, Math.floor(batches / 4))) last.push(b.totals)
                  if (done <= compareBatches && done > compareBatches - Math.max(1, Math.floor(compareBatches / 4)))
                    lastCompared.push(b.totals)
                  const epochEnds = b.batch === b.batches || done === batches
                  if (epochEnds) {
                    seconds += b.seconds - compareSeconds
                    compareSeconds = 0
                    measure()
                  }
                  if (done === compareBatches && compareBatches < batches) {
                    const t0 = performance.now()
                    valCompared = yield* evaluate(b.model, data.val)
                    // The epoch's clock runs on through it unless the epoch has just ended.
                    if (!epochEnds) compareSeconds += (performance.now() - t0) / 1000
                  }
                })
            }
          ]
        },
        data
      )
      const tail = averageTotals(last.reduce(addTotals, emptyTotals))
      const val = yield* evaluate(model, data.val)
      const compared = averageTotals(lastCompared.reduce(addTotals, emptyTotals))
      const comparedVal = valCompared ?? val

      // Inference alone on a fixed dictionary: FISTA on validation batches with the trained model.
      let rowsInferred = 0
      let rowSteps = 0
      const i0 = performance.now()
      yield* batchStream(data.val, settings.batchSize, { kind: "sequential" }).pipe(
        Stream.take(8),
        Stream.runForEach((batch) =>
          withBatchTensor(batch.x, batch.rows, data.val.dim, (x) => {
            const codes = batchCodes(model, x)
            codes.encoder.dispose()
            codes.fista.codes.dispose()
            rowsInferred += batch.rows
            rowSteps += codes.fista.meanSteps * batch.rows
          })
        )
      )
      const inferSeconds = (performance.now() - i0) / 1000
      const perRow = flopsPerRowStep(settings.codeDim, settings.hidden, data.train.dim)
      const achieved = (totals.fistaSteps * perRow) / totals.fistaSeconds / 1e9
      const stepFlops =
        totals.fistaSteps * perRow +
        batches *
          settings.batchSize *
          updateFlopsPerRow(settings.codeDim, settings.hidden, data.train.dim, settings.listaSteps)
      const l = settings.codeDim
      const reference =
        settings.hidden.length === 0
          ? [plainMatMul(settings.batchSize, l, l)]
          : [
              plainMatMul(settings.batchSize, l, settings.hidden[0]),
              plainMatMul(settings.batchSize, settings.hidden[0], settings.hidden[0]),
              plainMatMul(settings.batchSize, settings.hidden[0], l)
            ]
      return {
        model: name,
        backend: backend.name,
        batches,
        batchSize: settings.batchSize,
        codeDim: settings.codeDim,
        seconds: Number(seconds.toFixed(3)),
        samplesPerSecond: Number(((batches * settings.batchSize) / seconds).toFixed(1)),
        stepSamplesPerSecond: Number(((batches * settings.batchSize) / stepSeconds).toFixed(1)),
        fistaShare: Number((totals.fistaSeconds / seconds).toFixed(3)),
        meanFistaSteps: Number(tail.meanFistaSteps.toFixed(2)),
        energy: Number(tail.energy.toFixed(5)),
        trainPsnr: Number(tail.psnr.toFixed(3)),
        zeroFraction: Number(tail.zeroFraction.toFixed(4)),
        valPsnr: Number(val.psnr.toFixed(3)),
        valZeroFraction: Number(val.zeroFraction.toFixed(4)),
        valEnergy: Number(val.energy.toFixed(5)),
        inferenceRowsPerSecond: Number((rowsInferred / inferSeconds).toFixed(1)),
        inferenceMeanSteps: Number((rowSteps / Math.max(rowsInferred, 1)).toFixed(2)),
        fistaGflops: Number(achieved.toFixed(2)),
        stepGflops: Number((stepFlops / stepSeconds / 1e9).toFixed(2)),
        plainMatMulGflops: reference.map((r) => ({ shape: r.shape, gflops: Number(r.gflops.toFixed(2)) })),
        peakRssMb: Number(peakRssMb().toFixed(1)),
        rssMbByEpoch: rss.map((r) => Number(r.toFixed(1))),
        tensorsByEpoch: tensors,
        atCompare: {
          batches: compareBatches,
          meanFistaSteps: Number(compared.meanFistaSteps.toFixed(2)),
          energy: Number(compared.energy.toFixed(5)),
          trainPsnr: Number(compared.psnr.toFixed(3)),
          zeroFraction: Number(compared.zeroFraction.toFixed(4)),
          valPsnr: Number(comparedVal.psnr.toFixed(3)),
          valZeroFraction: Number(comparedVal.zeroFraction.toFixed(4))
        }
      }
    })
  )

/** The native BLAS the backend installed, for --products; an error where there is none. */
const nativeProducts = Effect.suspend(() => {
  const installed = installNativeMatMul()
  return typeof installed === "string"
    ? Effect.fail(new Error(`--products times the native BLAS's products, and none is in use: ${installed}`))
    : Effect.succeed(installed)
})

const productTable = (model: string, timings: ReadonlyArray<ProductTiming>): string =>
  [
    `${model}: product (m×k×n) | calls per batch | GFLOP/s on 1 thread | on ${timings[0]?.threads ?? "all"}`,
    "--- | --- | --- | ---",
    ...timings.map((t) => `${t.shape} | ${t.callsPerBatch} | ${t.gflopsOneThread} | ${t.gflopsAllThreads}`)
  ].join("\n")

type TorchResult = {
  threads: number
  samples_per_second: number
  energy?: number
  start?: string
  psnr_fista: number
  zero_fraction: number
  mean_fista_steps: number
  val_psnr_encoder: number
  val_zero_fraction_encoder: number
}

/** A Python script of the comparison under Debian's python3; its result is the JSON object on its last line. */
const runPython = <A>(argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv, what: string, packages: string) =>
  Effect.gen(function* () {
    const r = spawnSync("/usr/bin/python3", argv, { encoding: "utf8", maxBuffer: 1 << 24, env })
    if (r.status !== 0)
      return yield* Effect.fail(
        new Error(
          `${what} failed (${r.status}): ${(r.stderr || r.error?.message || "").trim().split("\n").slice(-3).join(" | ")}. Install it with: apt-get install -y ${packages}`
        )
      )
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as A
  })

/**
 * The reference's settings tried. Its --threads sets torch's own threads; the OpenBLAS it calls
 * for products has threads of its own, every core unless OPENBLAS_NUM_THREADS says otherwise, so
 * "--threads 1" alone uses both cores of an idle machine.
 */
const torchSettings = [
  { label: "torch-1t-blas1", threads: 1, blasThreads: 1 },
  { label: "torch-1t", threads: 1, blasThreads: null },
  { label: "torch-2t", threads: 2, blasThreads: null }
] as const

type TorchSetting = (typeof torchSettings)[number]

/**
 * The reference run unchanged, for its speed; or through experiments/torch_energy.py from our
 * starting point (startDir), for its energy and metrics.
 */
const runTorch = (
  script: string,
  mnistDir: string,
  model: string,
  batches: number,
  setting: TorchSetting,
  startDir: string | null = null
) =>
  Effect.gen(function* () {
    yield* Effect.logInfo(
      `torch reference${startDir === null ? "" : " from our starting point, with its energy recorded"}: ${model}, ${batches} batches, ${setting.label}`
    )
    const args = [
      script,
      "--mnist",
      mnistDir,
      "--model",
      model,
      "--batches",
      String(batches),
      "--threads",
      String(setting.threads),
      "--json"
    ]
    const env =
      setting.blasThreads === null ? process.env : { ...process.env, OPENBLAS_NUM_THREADS: String(setting.blasThreads) }
    const argv = startDir === null ? args : [torchEnergyScript, script, "--start", startDir, ...args.slice(1)]
    const result = yield* runPython<TorchResult>(argv, env, "torch reference", "python3-torch libopenblas0-pthread")
    return { ...result, label: setting.label }
  })

const shippedSklearnReference = fileURLToPath(new URL("../../../experiments/sklearn_reference.py", import.meta.url))

/**
 * One epoch of scikit-learn's MiniBatchDictionaryLearning on the same split, with OpenBLAS on the
 * threads it finds (as a user runs it).
 */
const runSklearn = (mnistDir: string, atoms: number, batch: number) =>
  Effect.gen(function* () {
    yield* Effect.logInfo(`scikit-learn MiniBatchDictionaryLearning: ${atoms} atoms, batch ${batch}, one epoch`)
    return yield* runPython<{
      seconds: number
      samples_per_second: number
      val_psnr: number
      val_zero_fraction: number
    }>(
      [shippedSklearnReference, "--mnist", mnistDir, "--atoms", String(atoms), "--batch", String(batch), "--json"],
      process.env,
      "the scikit-learn run",
      "python3-sklearn"
    )
  })

export const benchCommand = Command.make(
  "bench",
  {
    model: Options.text("model").pipe(
      Options.withDescription("comma-separated models (default vdl,vdl-nl)"),
      Options.withDefault("vdl,vdl-nl")
    ),
    batches: Options.integer("batches").pipe(
      Options.withDescription("training batches per model (220 = one epoch of full MNIST; default 40)"),
      Options.withDefault(40)
    ),
    mnistDir: Options.directory("mnist-dir").pipe(
      Options.withDescription("folder of MNIST IDX files; default the embedded digits"),
      Options.optional
    ),
    vsTorch: Options.boolean("vs-torch").pipe(
      Options.withDescription(
        "also run the PyTorch implementation (--torch-script) with the same model, at 1 thread with OpenBLAS on 1 thread, at 1 and at 2 threads with OpenBLAS on every core, and print the ratios (needs --mnist-dir and PyTorch)"
      )
    ),
    torchScript: Options.text("torch-script").pipe(
      Options.withDescription(
        "the PyTorch implementation of the same training loop for --vs-torch; default our own, experiments/torch_reference.py, shipped with the package (docs/benchmarks.md says what another must offer)"
      ),
      Options.optional
    ),
    torchBatches: Options.integer("torch-batches").pipe(
      Options.withDescription(
        "training batches for the PyTorch runs (default: --batches); speeds are per sample, and results from the same start are compared over the reference's batches"
      ),
      Options.optional
    ),
    batchSize: Options.integer("batch-size").pipe(
      Options.withDescription("rows per batch instead of the preset's 250 (for how cost grows; not with --vs-torch)"),
      Options.optional
    ),
    codeDim: Options.integer("code-dim").pipe(
      Options.withDescription("code size l instead of the preset's 128 (for how cost grows; not with --vs-torch)"),
      Options.optional
    ),
    inference: choiceOption("inference", inferenceNames).pipe(
      Options.withDescription("inference method instead of the preset's"),
      Options.optional
    ),
    vsSklearn: Options.boolean("vs-sklearn").pipe(
      Options.withDescription(
        "also time one epoch of scikit-learn's MiniBatchDictionaryLearning on the same training split (experiments/sklearn_reference.py; needs --mnist-dir and python3-sklearn)"
      )
    ),
    products: Options.boolean("products").pipe(
      Options.withDescription(
        "also time each matrix product shape of the model's training on one thread and on every thread of the native BLAS (needs a native BLAS)"
      )
    ),
    repeat: Options.integer("repeat").pipe(
      Options.withDescription(
        "run each model (and each setting of the reference) this many times, alternating, and report the median speeds (default 1)"
      ),
      Options.withDefault(1)
    ),
    seed: seedOption,
    backend: backendOption
  },
  (o) =>
    Effect.gen(function* () {
      if (o.repeat < 1)
        return yield* Effect.fail(
          new Error(`--repeat: ${o.repeat} is not allowed: give a whole number of runs, 1 or more`)
        )
      const models = o.model.split(",").map((m) => m.trim())
      const torchScript = Option.getOrElse(o.torchScript, () => shippedTorchReference)
      const torchBatches = Option.getOrElse(o.torchBatches, () => o.batches)
      const shape = {
        ...Option.match(o.batchSize, { onNone: () => ({}), onSome: (batchSize) => ({ batchSize }) }),
        ...Option.match(o.codeDim, { onNone: () => ({}), onSome: (codeDim) => ({ codeDim }) }),
        ...Option.match(o.inference, { onNone: () => ({}), onSome: (inference) => ({ inference }) })
      }
      for (const [option, value] of [
        ["--batch-size", shape.batchSize],
        ["--code-dim", shape.codeDim]
      ] as const) {
        if (value !== undefined && value < 1)
          return yield* Effect.fail(new Error(`${option}: ${value} is not allowed: give a whole number, 1 or more`))
      }
      if (o.vsTorch && (shape.batchSize !== undefined || shape.codeDim !== undefined))
        return yield* Effect.fail(
          new Error("--batch-size and --code-dim change the model the reference would not: run them without --vs-torch")
        )
      if (torchBatches < 1 || torchBatches > o.batches)
        return yield* Effect.fail(
          new Error(
            `--torch-batches: ${torchBatches} is not allowed: give a whole number from 1 to --batches (${o.batches}), so that ours covers the reference's batches`
          )
        )
      for (const m of models)
        if (variantOf(m) === undefined)
          return yield* Effect.fail(
            new Error(`--model: unknown model ${m}; choose from ${Object.keys(variants).join(", ")}`)
          )
      const source = Option.match(o.mnistDir, {
        onNone: () => ({ kind: "embedded" as const }),
        onSome: (dir) => ({ kind: "dir" as const, dir })
      })
      const raw = yield* loadMnist(source)
      const data = mapSplits(splitStage(o.seed)(raw), (s, name) => normalizeMnistStage(name)(s))
      yield* Effect.logInfo(`data: ${raw.source}; ${data.train.rows} training rows, ${data.val.rows} validation rows`)
      const backend = yield* Backend
      const rows: Array<Record<string, unknown>> = []
      for (const m of models) {
        if (o.vsTorch) {
          if (Option.isNone(o.mnistDir))
            return yield* Effect.fail(new Error("--vs-torch needs --mnist-dir: the torch reference reads IDX files"))
          if (!existsSync(torchScript))
            return yield* Effect.fail(
              new Error(
                `--torch-script: ${torchScript} not found; give the path of the PyTorch implementation to compare with, or omit it for our own (docs/benchmarks.md)`
              )
            )
          // Without the authors' split file each side draws its own validation set, and a shared
          // starting point would feed the reference shuffles of a different training set.
          if (raw.validationIndices === undefined) {
            return yield* Effect.fail(
              new Error(
                `--vs-torch needs the authors' split, ${join(o.mnistDir.value, "validation-indices.txt")}, which is missing: without it ours and the reference train on different images. Put the authors' file beside the IDX files, or run without --vs-torch`
              )
            )
          }
        }
        const startDir = o.vsTorch ? yield* scratchDir : null
        // Repeats alternate ours and the reference's settings, so that a slow spell of a shared
        // machine hits both; speeds are the medians, results come from the first (runs are
        // deterministic).
        const oursRuns: Array<Effect.Effect.Success<ReturnType<typeof benchModel>>> = []
        const torchRuns: Array<Array<TorchResult & { label: string }>> = torchSettings.map(() => [])
        const native = o.products ? yield* nativeProducts : null
        const tally = shapeTally()
        for (let r = 0; r < o.repeat; r++) {
          if (r === 0) native?.watch(tally.observe)
          const run = yield* benchModel(m, data, o.batches, o.seed, r === 0 ? startDir : null, torchBatches, shape)
          if (r === 0) native?.watch(null)
          oursRuns.push(run)
          if (o.repeat > 1)
            yield* Effect.logInfo(
              `${m} run ${r + 1}/${o.repeat}: ${run.stepSamplesPerSecond} samples/s (step), ${run.samplesPerSecond} (whole loop)`
            )
          if (o.vsTorch && Option.isSome(o.mnistDir)) {
            for (const [i, setting] of torchSettings.entries())
              torchRuns[i].push(yield* runTorch(torchScript, o.mnistDir.value, m, torchBatches, setting))
          }
        }
        const runsOf = (f: (r: (typeof oursRuns)[number]) => number) => oursRuns.map(f)
        const ours = {
          ...oursRuns[0],
          stepSamplesPerSecond: median(runsOf((r) => r.stepSamplesPerSecond)),
          samplesPerSecond: median(runsOf((r) => r.samplesPerSecond)),
          ...(o.repeat > 1
            ? { repeats: o.repeat, stepSamplesPerSecondRuns: runsOf((r) => r.stepSamplesPerSecond) }
            : {})
        }
        rows.push(ours)
        console.log(JSON.stringify(ours))
        if (native !== null) {
          const timings = timeProductShapes(native, tally.seen, o.batches, native.threads ?? availableParallelism())
          for (const t of timings) console.log(JSON.stringify({ model: m, product: t }))
          process.stderr.write(`\n${productTable(m, timings)}\n`)
        }
        if (o.vsTorch && Option.isSome(o.mnistDir) && startDir !== null) {
          const torch = torchRuns.map((runs) => ({
            ...runs[0],
            samples_per_second: median(runs.map((t) => t.samples_per_second)),
            ...(o.repeat > 1 ? { samplesPerSecondRuns: runs.map((t) => t.samples_per_second) } : {})
          }))
          for (const t of torch) console.log(JSON.stringify({ model: m, backend: t.label, ...t }))
          const best = torch.reduce((a, b) => (b.samples_per_second > a.samples_per_second ? b : a))
          const bestRuns = torchRuns[torch.indexOf(best)]
          // Results are compared from the same starting point: with its own random draws the
          // reference lands elsewhere (seed to seed, its energy after one epoch moves by ~1%).
          const same = yield* runTorch(torchScript, o.mnistDir.value, m, torchBatches, torchSettings[0], startDir)
          // With --torch-batches below --batches, ours is read at the reference's last batch.
          const at = ours.atCompare
          console.log(JSON.stringify({ model: m, backend: `${same.label}-our-start`, ...same }))
          const ratio = {
            model: m,
            comparison: `ours (${backend.matmul}) / torch at its fastest setting, ${best.label}`,
            // Like for like: the reference's samples_per_second times the same region as ours.
            throughputRatio: Number((ours.stepSamplesPerSecond / best.samples_per_second).toFixed(3)),
            wholeLoopRatio: Number((ours.samplesPerSecond / best.samples_per_second).toFixed(3)),
            ratioBySetting: Object.fromEntries(
              torch.map((t) => [t.label, Number((ours.stepSamplesPerSecond / t.samples_per_second).toFixed(3))])
            ),
            ...(o.repeat > 1
              ? {
                  pairedRatios: oursRuns.map((r, i) =>
                    Number((r.stepSamplesPerSecond / bestRuns[i].samples_per_second).toFixed(3))
                  )
                }
              : {}),
            torchScript,
            torchBatches,
            sameStart: {
              batches: torchBatches,
              energy: { ours: at.energy, torch: same.energy ?? NaN },
              energyRelativeDiff: Number(((at.energy - (same.energy ?? NaN)) / (same.energy ?? NaN)).toFixed(4)),
              trainPsnrDiff: Number((at.trainPsnr - same.psnr_fista).toFixed(3)),
              valPsnrDiff: Number((at.valPsnr - same.val_psnr_encoder).toFixed(3)),
              valZeroFractionDiff: Number((at.valZeroFraction - same.val_zero_fraction_encoder).toFixed(4)),
              meanFistaSteps: { ours: at.meanFistaSteps, torch: same.mean_fista_steps }
            },
            ownDraws: {
              trainPsnrDiff: Number((at.trainPsnr - best.psnr_fista).toFixed(3)),
              valPsnrDiff: Number((at.valPsnr - best.val_psnr_encoder).toFixed(3)),
              valZeroFractionDiff: Number((at.valZeroFraction - best.val_zero_fraction_encoder).toFixed(4))
            }
          }
          rows.push({
            model: m,
            backend: best.label,
            stepSamplesPerSecond: best.samples_per_second,
            meanFistaSteps: best.mean_fista_steps,
            trainPsnr: best.psnr_fista,
            valPsnr: best.val_psnr_encoder,
            valZeroFraction: best.val_zero_fraction_encoder
          })
          rows.push({
            model: m,
            backend: `${same.label}-our-start`,
            meanFistaSteps: same.mean_fista_steps,
            energy: same.energy,
            trainPsnr: same.psnr_fista,
            valPsnr: same.val_psnr_encoder,
            valZeroFraction: same.val_zero_fraction_encoder
          })
          console.log(JSON.stringify(ratio))
        }
      }
      if (o.vsSklearn) {
        if (Option.isNone(o.mnistDir))
          return yield* Effect.fail(new Error("--vs-sklearn needs --mnist-dir: the scikit-learn run reads IDX files"))
        const sk = yield* runSklearn(
          o.mnistDir.value,
          Option.getOrElse(o.codeDim, () => 128),
          Option.getOrElse(o.batchSize, () => 250)
        )
        console.log(JSON.stringify({ model: "sklearn-minibatch-dl", ...sk }))
        rows.push({
          model: "sklearn-minibatch-dl",
          backend: "scikit-learn",
          samplesPerSecond: sk.samples_per_second,
          valPsnr: sk.val_psnr,
          valZeroFraction: sk.val_zero_fraction
        })
      }
      const cols = [
        "model",
        "backend",
        "stepSamplesPerSecond",
        "samplesPerSecond",
        "meanFistaSteps",
        "energy",
        "trainPsnr",
        "valPsnr",
        "valZeroFraction",
        "fistaGflops",
        "stepGflops",
        "peakRssMb"
      ]
      const table = [
        cols.join(" | "),
        cols.map(() => "---").join(" | "),
        ...rows.map((r) =>
          cols
            .map((c) => (r[c] === undefined ? "" : typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c])))
            .join(" | ")
        )
      ]
      process.stderr.write(`\n${table.join("\n")}\n`)
    }).pipe(Effect.scoped, Effect.provide(BackendLive(Option.getOrUndefined(o.backend))))
)
