/**
 * Optimizers as chains of transforms that own their state: each registered optimizer's update
 * agrees with the textbook formula written out in plain numbers, a chain names each state after
 * its transform, a masked transform touches only what it selects, and training keeps the tensor
 * count flat whichever optimizer the settings name.
 */
import * as tf from "@tensorflow/tfjs-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { affineToPixels } from "../../src/models/metrics.js"
import { disposeModel, makeModel, modelTensors, trainStep } from "../../src/models/model.js"
import { adam, adamDefaults } from "../../src/models/optimisers/adam.js"
import { adamw } from "../../src/models/optimisers/adamw.js"
import {
  chainLayout,
  disposeOptimizer,
  makeOptimizer,
  optimizerScalars,
  optimizerStep,
  optimizerTensors,
  restoreScalars
} from "../../src/models/optimisers/chain.js"
import { lrHalving } from "../../src/models/optimisers/lr-halving.js"
import { optimizerNames } from "../../src/models/optimisers/registry.js"
import { sgd } from "../../src/models/optimisers/sgd.js"
import { masked, shapesOf, type Transform } from "../../src/models/optimisers/transform.js"
import { unitNorm } from "../../src/models/optimisers/unit-norm.js"
import { weightDecay } from "../../src/models/optimisers/weight-decay.js"
import type { ModelSettings } from "../../src/models/settings.js"
import { variants } from "../../src/models/variants.js"
import { expectedShapes } from "../../src/pipeline/train/checkpoint.js"
import { configureFastCheck, gaussian, seeded, useTestBackend } from "../helpers/tf.js"

useTestBackend()
configureFastCheck()

/** One optimizer's step on plain numbers, as PyTorch documents it; `state` is its own to keep. */
type Reference = (p: Float64Array, g: Float64Array, lr: number, state: Record<string, Float64Array | number>) => void

const adamReference =
  (decoupled: number): Reference =>
  (p, g, lr, state) => {
    const { beta1, beta2, epsilon } = adamDefaults
    const m = (state.m ??= new Float64Array(p.length)) as Float64Array
    const v = (state.v ??= new Float64Array(p.length)) as Float64Array
    const t = ((state.t as number | undefined) ?? 0) + 1
    state.t = t
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * decoupled
      m[i] = beta1 * m[i] + (1 - beta1) * g[i]
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
      p[i] -= (lr * (m[i] / (1 - beta1 ** t))) / (Math.sqrt(v[i] / (1 - beta2 ** t)) + epsilon)
    }
  }

const sgdReference =
  (momentum: number, nesterov: boolean): Reference =>
  (p, g, lr, state) => {
    const first = state.b === undefined
    const b = (state.b ??= new Float64Array(p.length)) as Float64Array
    for (let i = 0; i < p.length; i++) {
      // PyTorch starts the buffer at the first gradient.
      b[i] = first ? g[i] : momentum * b[i] + g[i]
      p[i] -= lr * (momentum === 0 ? g[i] : nesterov ? g[i] + momentum * b[i] : b[i])
    }
  }

const cases: ReadonlyArray<{ name: string; transform: () => Transform; reference: () => Reference }> = [
  { name: "adam", transform: () => adam(), reference: () => adamReference(0) },
  { name: "sgd", transform: () => sgd({ momentum: 0, nesterov: false }), reference: () => sgdReference(0, false) },
  {
    name: "sgd with momentum",
    transform: () => sgd({ momentum: 0.9, nesterov: false }),
    reference: () => sgdReference(0.9, false)
  },
  {
    name: "sgd with Nesterov momentum",
    transform: () => sgd({ momentum: 0.7, nesterov: true }),
    reference: () => sgdReference(0.7, true)
  },
  { name: "adamw", transform: () => adamw(0.05), reference: () => adamReference(0.05) }
]

const problem = fc.record({
  size: fc.integer({ min: 1, max: 12 }),
  steps: fc.integer({ min: 1, max: 6 }),
  lr: fc.double({ min: 1e-3, max: 0.2, noNaN: true }),
  seed: fc.nat()
})

describe("each optimizer", () => {
  for (const c of cases) {
    it(`${c.name}: k steps on random gradients match the plain formula`, () => {
      fc.assert(
        fc.property(problem, ({ size, steps, lr, seed }) => {
          const rng = seeded(seed)
          const start = gaussian(rng, 1, size)
          const grads = Array.from({ length: steps }, () => gaussian(rng, 1, size))
          const W = tf.variable(tf.tensor1d(start))
          const o = makeOptimizer([c.transform()], { W }, tfjsLinalg)
          const p = Float64Array.from(start)
          const state = {}
          const reference = c.reference()
          for (const g of grads) {
            tf.tidy(() => optimizerStep(o, { W: tf.tensor1d(g) }, { epoch: 0, learningRate: lr }))
            reference(p, Float64Array.from(g), lr, state)
          }
          const got = W.dataSync()
          for (let i = 0; i < size; i++) expect(got[i]).toBeCloseTo(p[i], 4)
          disposeOptimizer(o)
          W.dispose()
        }),
        { numRuns: 40 }
      )
    })
  }
})

describe("a chain", () => {
  it("names each transform's state after the transform, lays it out before allocating it, and restores its numbers", () => {
    const params = { W: tf.variable(tf.zeros([3, 2])), b: tf.variable(tf.zeros([2])) }
    const chain = [weightDecay(0.1), lrHalving(2), adam()]
    const o = makeOptimizer(chain, params, tfjsLinalg)
    expect(Object.keys(optimizerTensors(o)).sort()).toEqual(["adam.m.W", "adam.m.b", "adam.v.W", "adam.v.b"])
    expect(optimizerScalars(o)).toEqual({ "adam.step": 0 })
    const layout = chainLayout(chain, shapesOf(params))
    expect(layout.tensors).toEqual(
      Object.fromEntries(Object.entries(optimizerTensors(o)).map(([k, v]) => [k, v.shape]))
    )
    expect(layout.scalars).toEqual(["adam.step"])
    tf.tidy(() => optimizerStep(o, { W: tf.ones([3, 2]), b: tf.ones([2]) }, { epoch: 0, learningRate: 0.1 }))
    expect(optimizerScalars(o)).toEqual({ "adam.step": 1 })
    restoreScalars(o, { "adam.step": 41 })
    expect(optimizerScalars(o)).toEqual({ "adam.step": 41 })
    disposeOptimizer(o)
    for (const v of Object.values(params)) v.dispose()
  })

  it("refuses two transforms of one name, whose states would share it", () => {
    const params = { W: tf.variable(tf.zeros([2])) }
    expect(() => makeOptimizer([adam(), adam()], params, tfjsLinalg)).toThrow(/"adam" is there twice/)
    params.W.dispose()
  })

  it("refuses to end with updates no optimizer applied, and a projection placed before the optimizer", () => {
    const params = { W: tf.variable(tf.ones([2, 2])), b: tf.variable(tf.ones([2])) }
    const grads = () => ({ W: tf.ones([2, 2]), b: tf.ones([2]) })
    const decayOnly = makeOptimizer([weightDecay(0.1)], params, tfjsLinalg)
    expect(() => tf.tidy(() => optimizerStep(decayOnly, grads(), { epoch: 0, learningRate: 0.1 }))).toThrow(
      /left the updates of W, b unapplied/
    )
    const half = makeOptimizer([masked((n) => n === "W", adam())], params, tfjsLinalg)
    expect(() => tf.tidy(() => optimizerStep(half, grads(), { epoch: 0, learningRate: 0.1 }))).toThrow(
      /left the updates of b unapplied/
    )
    // Each part masked to its own optimizer (optax's multi_transform) leaves nothing behind.
    const both = makeOptimizer(
      [
        masked((n) => n === "W", adam(), "adam on W"),
        masked((n) => n === "b", sgd({ momentum: 0.9, nesterov: false }), "sgd on b")
      ],
      params,
      tfjsLinalg
    )
    tf.tidy(() => optimizerStep(both, grads(), { epoch: 0, learningRate: 0.1 }))
    expect(Object.keys(optimizerTensors(both)).sort()).toEqual([
      "adam on W.m.W",
      "adam on W.v.W",
      "sgd on b.momentum.b"
    ])
    const early = makeOptimizer([unitNorm((n) => n === "W"), adam()], params, tfjsLinalg)
    expect(() => tf.tidy(() => optimizerStep(early, grads(), { epoch: 0, learningRate: 0.1 }))).toThrow(
      /put it after the optimizer/
    )
    for (const o of [decayOnly, half, both, early]) disposeOptimizer(o)
    for (const v of Object.values(params)) v.dispose()
  })

  it("restricts a masked transform to the parameters it selects (hidden-bias decay leaves the weights alone)", () => {
    const params = { W1: tf.variable(tf.fill([2, 2], 2)), b1: tf.variable(tf.fill([2], 2)) }
    // Plain gradient descent of lr 1 on zero gradients: what moves a parameter is the decay alone.
    const o = makeOptimizer(
      [masked((n) => n.startsWith("b"), weightDecay(0.5), "bias decay"), sgd({ momentum: 0, nesterov: false })],
      params,
      tfjsLinalg
    )
    tf.tidy(() => optimizerStep(o, { W1: tf.zeros([2, 2]), b1: tf.zeros([2]) }, { epoch: 0, learningRate: 1 }))
    expect(Array.from(params.W1.dataSync())).toEqual([2, 2, 2, 2])
    expect(Array.from(params.b1.dataSync())).toEqual([1, 1])
    disposeOptimizer(o)
    for (const v of Object.values(params)) v.dispose()
  })

  it("halves the learning rate the optimizer sees every k epochs", () => {
    const W = tf.variable(tf.zeros([1]))
    const o = makeOptimizer([lrHalving(2), sgd({ momentum: 0, nesterov: false })], { W }, tfjsLinalg)
    const moved: number[] = []
    for (const epoch of [0, 1, 2, 4]) {
      const before = W.dataSync()[0]
      tf.tidy(() => optimizerStep(o, { W: tf.ones([1]) }, { epoch, learningRate: 1 }))
      moved.push(before - W.dataSync()[0])
    }
    expect(moved).toEqual([1, 1, 0.5, 0.25])
    disposeOptimizer(o)
    W.dispose()
  })
})

const inputDim = 20
const rows = 16

const settingsWith = (optimizer: ModelSettings["optimizer"]): ModelSettings => ({
  ...variants["vdl-nl"].settings.mnist,
  codeDim: 8,
  hidden: [24],
  batchSize: rows,
  maxSteps: 10,
  decoderLrHalvingEvery: 1,
  hiddenBiasDecay: 0.01,
  encoderBiasDecay: 0.01,
  unitNormAtoms: true,
  optimizer
})

describe("checkpoint names", () => {
  it("carry the optimizer's name: encoder.adam.m.W, decoder.sgd.momentum.b1, decoder.adamw.v.W1", () => {
    const names = (optimizer: ModelSettings["optimizer"]) => {
      const model = makeModel(settingsWith(optimizer), inputDim, seeded(6))
      const out = Object.keys(modelTensors(model))
      disposeModel(model)
      return out
    }
    expect(names("adam")).toEqual(
      expect.arrayContaining(["encoder.adam.m.W", "encoder.adam.v.c", "decoder.adam.m.W1", "decoder.adam.v.b1"])
    )
    expect(names("sgd")).toEqual(expect.arrayContaining(["encoder.sgd.momentum.S", "decoder.sgd.momentum.b1"]))
    expect(names("adamw")).toEqual(expect.arrayContaining(["encoder.adamw.m.W", "decoder.adamw.v.W1"]))
  })
})

describe("a model of each optimizer the settings name", () => {
  for (const optimizer of optimizerNames) {
    it(`${optimizer}: its state is named after its transform, laid out as checkpoints expect, and trainStep keeps the tensor count flat`, () => {
      const start = tf.memory().numTensors
      const rng = seeded(5)
      const batches = Array.from({ length: 3 }, () => tf.tensor2d(gaussian(rng, rows, inputDim), [rows, inputDim]))
      const model = makeModel(settingsWith(optimizer), inputDim, seeded(6))
      const tensors = modelTensors(model)
      // Every tensor is a parameter or the state of a transform of its part's chain, under that transform's name.
      const chains = { encoder: model.composition.encoderUpdate, decoder: model.composition.decoderUpdate }
      for (const name of Object.keys(tensors)) {
        const [part, owner] = name.split(".")
        const isParameter = name.split(".").length === 2
        expect(isParameter || chains[part as "encoder" | "decoder"].some((t) => t.name === owner), name).toBe(true)
      }
      // What a checkpoint is checked against before a model is built.
      expect(expectedShapes(model.settings, inputDim)).toEqual(
        Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.shape]))
      )
      const counts: number[] = []
      for (let epoch = 0; epoch < 2; epoch++) {
        for (const x of batches) {
          expect(Number.isFinite(trainStep(model, x, epoch, affineToPixels(0, 1)).energy)).toBe(true)
          counts.push(tf.memory().numTensors)
        }
      }
      expect(counts).toEqual(new Array(counts.length).fill(counts[0]))
      disposeModel(model)
      for (const x of batches) x.dispose()
      expect(tf.memory().numTensors).toBe(start)
    })
  }
})
