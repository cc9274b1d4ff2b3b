import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-wasm"
import { test as fcTest, fc } from "@fast-check/vitest"
import { readFileSync } from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { assembleKernel } from "../../scripts/kernel-source.js"
import { adam } from "../../src/models/optimisers/adam.js"
import { makeOptimizer, optimizerStep, optimizerTensors } from "../../src/models/optimisers/chain.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { heapElementwise, heapEntryCounts, heapInPlace } from "../../src/pipeline/backend/heap-updates.js"
import { zeroAndNonFiniteCounts } from "../../src/models/metrics.js"
import { wasmBase64 } from "../../src/pipeline/backend/kernels/heap-updates.wasm.js"

beforeAll(async () => {
  await tf.setBackend("wasm")
  await tf.ready()
})

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

describe("in-place updates on the wasm backend's memory", () => {
  it("load wherever the wasm backend runs", () => {
    expect(heapInPlace()).not.toBeNull()
  })

  // Sizes around the four-lane width, so that the vector loop and the scalar tail both run. Seeds
  // start at 1: tfjs draws an unseeded sequence for a seed of 0.
  fcTest.prop([fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1000 })], {
    numRuns: 25
  })("Adam writes what the tensor path computes, for every size and step", (size, steps, seed) => {
    const ops = heapInPlace()!
    const start = () => ({ W: tf.variable(tf.randomNormal([size], 0, 1, "float32", seed)) })
    const inPlace = makeOptimizer([adam()], start(), { ...tfjsLinalg, inPlace: ops })
    const viaTensors = makeOptimizer([adam()], start(), tfjsLinalg)
    const before = tf.memory().numTensors
    for (let step = 0; step < steps; step++) {
      const g = tf.randomNormal([size], 0, 1, "float32", seed + 1 + step)
      optimizerStep(inPlace, { W: g }, { epoch: 0, learningRate: 1e-2 })
      optimizerStep(viaTensors, { W: g }, { epoch: 0, learningRate: 1e-2 })
      g.dispose()
    }
    expect(tf.memory().numTensors).toBe(before)
    expect(maxAbsDiff(inPlace.params.W, viaTensors.params.W)).toBeLessThan(1e-6)
    const a = optimizerTensors(inPlace)
    const b = optimizerTensors(viaTensors)
    for (const name of Object.keys(b)) expect(maxAbsDiff(a[name], b[name]), name).toBeLessThan(1e-6)
    for (const o of [inPlace, viaTensors]) {
      for (const t of [...Object.values(o.params), ...Object.values(optimizerTensors(o))]) t.dispose()
    }
  })

  it("axpby writes αx + βy into y and leaves x as it was", () => {
    const ops = heapInPlace()!
    const x = tf.tensor1d([1, 2, 3, 4, 5, 6, 7])
    const y = tf.variable(tf.tensor1d([10, 20, 30, 40, 50, 60, 70]))
    ops.axpby(2, x, 0.5, y)
    expect(Array.from(y.dataSync())).toEqual([7, 14, 21, 28, 35, 42, 49])
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7])
    tf.dispose([x, y])
  })

  fcTest.prop([
    fc.array(
      fc.oneof(
        fc.constant(0),
        fc.constant(Number.NaN),
        fc.constant(Number.POSITIVE_INFINITY),
        fc.constant(Number.NEGATIVE_INFINITY),
        fc.float({ noNaN: true })
      ),
      { minLength: 1, maxLength: 41 }
    )
  ])("counts zeros and non-finite entries as the tensor operations do, in the vector loop and the tail", (values) => {
    const t = tf.tensor1d(values)
    expect(heapEntryCounts()!(t)).toEqual(zeroAndNonFiniteCounts(t))
    expect(heapEntryCounts()!(t)).toEqual({
      zeros: values.filter((v) => v === 0).length,
      nonFinite: values.filter((v) => !Number.isFinite(Math.fround(v))).length
    })
    t.dispose()
  })

  fcTest.prop(
    [fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 19 }), fc.boolean(), fc.integer({ min: 1, max: 1000 })],
    {
      numRuns: 30
    }
  )(
    "ReLU after a bias, its backward pass and a difference write what the tensor operations compute, bit for bit",
    (rows, cols, withBias, seed) => {
      const ops = heapElementwise()!
      const before = tf.memory().numTensors
      tf.tidy(() => {
        const pre = () => tf.randomNormal([rows, cols], 0, 1, "float32", seed) as tf.Tensor2D
        const bias = withBias ? tf.randomNormal([cols], 0, 1, "float32", seed + 1) : null
        const expected = tf.relu(bias === null ? pre() : tf.add(pre(), bias))
        const fresh = pre()
        const h = ops.biasRelu(fresh, bias)
        expect(h).toBe(fresh)
        expect(Array.from(h.dataSync())).toEqual(Array.from(expected.dataSync()))
        const g = () => tf.randomNormal([rows, cols], 0, 1, "float32", seed + 2) as tf.Tensor2D
        const back = ops.reluBackward(g(), h)
        const backExpected = tf.mul(g(), tf.step(h))
        // Equal as numbers: the mask gives +0 where the product gives −0.
        expect(Array.from(back.dataSync())).toEqual(Array.from(backExpected.dataSync()).map((v) => v + 0))
        const y = g()
        expect(Array.from(ops.subtract(y, h).dataSync())).toEqual(Array.from(tf.sub(g(), h).dataSync()))
      })
      expect(tf.memory().numTensors).toBe(before)
    }
  )

  it("leaves a tensor whose storage is shared as it was, and computes into a new one", () => {
    const ops = heapElementwise()!
    const pre = tf.tensor2d([[-1, 2, -3, 4]])
    const shared = tf.reshape(pre, [1, 4]) as tf.Tensor2D
    const h = ops.biasRelu(shared, null)
    expect(h).not.toBe(shared)
    expect(Array.from(pre.dataSync())).toEqual([-1, 2, -3, 4])
    expect(Array.from(h.dataSync())).toEqual([0, 2, 0, 4])
    tf.dispose([pre, shared, h])
  })

  it("refuses tensors of different sizes, naming them", () => {
    const ops = heapInPlace()!
    const x = tf.zeros([3])
    const y = tf.variable(tf.zeros([4]))
    expect(() => ops.axpby(1, x, 1, y)).toThrow(/3 values onto 4/)
    tf.dispose([x, y])
  })

  it("is the assembly of the committed text (after editing the .wat, run npm run kernels)", async () => {
    const text = readFileSync(new URL("../../src/pipeline/backend/kernels/heap-updates.wat", import.meta.url), "utf8")
    const bytes = await assembleKernel(text, "heap-updates.wat")
    expect(Buffer.from(bytes).toString("base64")).toBe(wasmBase64)
  })
})
