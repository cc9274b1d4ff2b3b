import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-wasm"
import { Effect, Logger, LogLevel } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { adam } from "../../src/models/optimisers/adam.js"
import { adamw } from "../../src/models/optimisers/adamw.js"
import { makeOptimizer, optimizerStep, optimizerTensors } from "../../src/models/optimisers/chain.js"
import { sgd } from "../../src/models/optimisers/sgd.js"
import type { Transform } from "../../src/models/optimisers/transform.js"
import { weightDecay } from "../../src/models/optimisers/weight-decay.js"
import { type Linalg, tfjsLinalg } from "../../src/models/linalg.js"
import { variants } from "../../src/models/variants.js"
import { Backend, BackendLive } from "../../src/pipeline/backend/backend.js"
import { installNativeMatMul, type NativeMatMul } from "../../src/pipeline/backend/native-matmul.js"
import { scopedModel } from "../../src/pipeline/backend/resources.js"
import { rngFor } from "../../src/pipeline/train/seeds.js"

/** Products through XNNPACK, taken before the native kernel replaces it. */
let reference: Array<{ a: number[][]; b: number[][]; tA: boolean; tB: boolean; c: number[][] }> = []
let installed: NativeMatMul | string

const cases = [
  { m: 7, k: 5, n: 3 },
  { m: 250, k: 128, n: 128 },
  { m: 33, k: 300, n: 17 }
]

beforeAll(async () => {
  await tf.setBackend("wasm")
  await tf.ready()
  let seed = 3
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1
  for (const { m, k, n } of cases) {
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true]
    ] as const) {
      const a = Array.from({ length: tA ? k : m }, () => Array.from({ length: tA ? m : k }, rand))
      const b = Array.from({ length: tB ? n : k }, () => Array.from({ length: tB ? k : n }, rand))
      const c = tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(b), tA, tB).arraySync() as number[][])
      reference.push({ a, b, tA, tB, c })
    }
  }
  // CI installs OpenBLAS and sets this, so the native path is always exercised there.
  installed = installNativeMatMul({ threads: 1 })
})

/** The kernels that go with what loaded. */
const linalg = (): Linalg => (typeof installed === "string" ? tfjsLinalg : installed.linalg)

const maxDiff = (x: number[][], y: number[][]) =>
  Math.max(...x.flatMap((row, i) => row.map((v, j) => Math.abs(v - y[i][j]))))

describe("native matrix products", () => {
  it("load a BLAS, or say why not (CI requires one)", () => {
    if (process.env.SPARSE_VDL_REQUIRE_BLAS === "1")
      expect(installed, String(installed)).toMatchObject({ library: expect.any(String) })
    else if (typeof installed === "string") expect(installed).toMatch(/koffi|BLAS|cblas/)
  })

  it("give XNNPACK's results for every transpose combination", () => {
    for (const r of reference) {
      const c = tf.tidy(() => tf.matMul(tf.tensor2d(r.a), tf.tensor2d(r.b), r.tA, r.tB).arraySync() as number[][])
      expect(maxDiff(c, r.c), `transposeA=${r.tA} transposeB=${r.tB}`).toBeLessThan(1e-4)
    }
  })

  it("handle batched and broadcast products", () => {
    const x = tf.randomNormal([3, 4, 5], 0, 1, "float32", 1)
    const y = tf.randomNormal([5, 6], 0, 1, "float32", 2)
    const z = tf.matMul(x, tf.broadcastTo(y, [3, 5, 6])) as tf.Tensor3D
    for (let i = 0; i < 3; i++) {
      const xi = tf.reshape(tf.slice(x, [i, 0, 0], [1, 4, 5]), [4, 5]) as tf.Tensor2D
      const expected = tf.matMul(xi, y as tf.Tensor2D).arraySync() as number[][]
      const got = tf.reshape(tf.slice(z, [i, 0, 0], [1, 4, 6]), [4, 6]).arraySync() as number[][]
      expect(maxDiff(got, expected)).toBeLessThan(1e-4)
    }
  })

  it("give the host product FISTA uses, equal to the tensor one", () => {
    if (typeof installed === "string") return
    const gemm = installed.linalg.hostGemm
    expect(gemm).not.toBeNull()
    const a = Float32Array.from({ length: 6 * 4 }, (_, i) => Math.sin(i))
    const b = Float32Array.from({ length: 4 * 3 }, (_, i) => Math.cos(i))
    const expected = tf.tidy(() => tf.matMul(tf.tensor2d(a, [6, 4]), tf.tensor2d(b, [4, 3])).dataSync())
    const got = gemm!(a, b, 6, 4, 3)
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5)
  })

  it.each([
    ["Adam", () => [weightDecay(0.1, (name) => name === "b"), adam()]],
    [
      "SGD with Nesterov momentum",
      () => [weightDecay(0.1, (name) => name === "b"), sgd({ momentum: 0.9, nesterov: true })]
    ],
    ["AdamW", () => [adamw(0.1)]]
  ] as Array<[string, () => Transform[]]>)(
    "update %s's state and parameters in place as the tensor path does, and never through a shared storage",
    (_name, chain) => {
      if (typeof installed === "string") return
      const ops = installed.linalg.inPlace
      expect(ops).not.toBeNull()
      const decayed = chain()
      const make = (kernels: Linalg) => {
        const p = {
          W: tf.variable(tf.randomNormal([40, 30], 0, 1, "float32", 11)),
          b: tf.variable(tf.randomNormal([30], 0, 1, "float32", 12))
        }
        return makeOptimizer(decayed, p, kernels)
      }
      const viaTensors = make(tfjsLinalg)
      const viaBlas = make(installed.linalg)
      const before = tf.memory().numTensors
      for (let step = 0; step < 5; step++) {
        const grads = {
          W: tf.randomNormal([40, 30], 0, 1, "float32", 20 + step),
          b: tf.randomNormal([30], 0, 1, "float32", 40 + step)
        }
        optimizerStep(viaTensors, grads, { epoch: 0, learningRate: 1e-2 })
        optimizerStep(viaBlas, grads, { epoch: 0, learningRate: 1e-2 })
        grads.W.dispose()
        grads.b.dispose()
      }
      expect(tf.memory().numTensors).toBe(before)
      const viaBlasState = optimizerTensors(viaBlas)
      const pairs = [
        ...["W", "b"].map((name) => [name, viaTensors.params[name], viaBlas.params[name]] as const),
        ...Object.entries(optimizerTensors(viaTensors)).map(([name, t]) => [name, t, viaBlasState[name]] as const)
      ]
      expect(pairs.length).toBeGreaterThan(2)
      for (const [name, a, b] of pairs) {
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])
        expect(diff, name).toBeLessThan(1e-5)
      }
      // A reshape shares its variable's storage: the update must then go through new tensors.
      const W = viaBlas.params.W
      const snapshot = tf.reshape(W, [-1])
      const kept = snapshot.dataSync().slice()
      expect(ops!.writable(W)).toBe(false)
      const g = tf.onesLike(W)
      optimizerStep(viaBlas, { W: g }, { epoch: 0, learningRate: 1e-2 })
      expect(Array.from(snapshot.dataSync())).toEqual(Array.from(kept))
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(tf.reshape(W, [-1]), snapshot))).dataSync()[0])).toBeGreaterThan(0)
      g.dispose()
      snapshot.dispose()
    }
  )

  it("sum columns through the BLAS as tf.sum does", () => {
    const a = tf.randomNormal([250, 37], 0, 1, "float32", 5) as tf.Tensor2D
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(linalg().columnSums(a), tf.sum(a, 0)))).dataSync()[0])
    expect(diff).toBeLessThan(1e-4)
    a.dispose()
  })

  it("reach every part of a model the pipeline makes, through the Backend service", async () => {
    const { service, parts } = await Effect.gen(function* () {
      const service = yield* Backend
      const m = yield* scopedModel(
        { ...variants["vdl-nl"].settings.mnist, codeDim: 8, hidden: [16] },
        12,
        rngFor(1, "init")
      )
      return {
        service: service.linalg,
        parts: [m.decoder.linalg, m.encoder.linalg, m.decoderOptimizer.linalg, m.encoderOptimizer.linalg]
      }
    }).pipe(
      Effect.scoped,
      Effect.provide(BackendLive("wasm")),
      Logger.withMinimumLogLevel(LogLevel.None),
      Effect.runPromise
    )
    // The service adds the backend's inference pass to the products it installed.
    expect(service).toEqual({ ...linalg(), inferencePass: service.inferencePass })
    expect(service.matMulAT).toBe(linalg().matMulAT)
    for (const part of parts) expect(part).toBe(service)
  })
})
