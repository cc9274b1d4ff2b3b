import * as tf from "@tensorflow/tfjs-core"
// Autograd serves only as the reference for the hand-written gradients.
import "@tensorflow/tfjs-core/dist/register_all_gradients"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import {
  fitProbe,
  type LabelledSet,
  linearProbe,
  listaProbe,
  probeAccuracy,
  probeLoss,
  softmaxCrossEntropy
} from "../../src/models/classifier.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { commandLineMessage } from "../../src/cli/options.js"
import { type ClassifyPlan, selectExamples, spread } from "../../src/pipeline/evaluation/classify.js"
import { expectClose, gaussian, leakCheck, seeded, toFlat, useTestBackend } from "../helpers/tf.js"

useTestBackend()

/** Rows around well-separated class centres: class c sits at 4·e_c plus small noise. */
const separable = (seed: number, perClass: number, classes: number, dim: number) => {
  const rng = seeded(seed)
  const n = perClass * classes
  const x = gaussian(rng, n, dim, 0.3)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes
    x[i * dim + labels[i]] += 4
  }
  return { x, labels, n }
}

const onDevice = (x: Float32Array, labels: Int32Array, dim: number): LabelledSet => ({
  x: tf.tensor2d(x, [labels.length, dim]),
  labels: tf.tensor1d(labels, "int32")
})

const dispose = (...sets: LabelledSet[]) => sets.forEach((s) => tf.dispose([s.x, s.labels]))

describe("softmax cross-entropy", () => {
  it("is ln C for equal logits, and its hand-written gradient matches autograd", () => {
    leakCheck(() =>
      tf.tidy(() => {
        const { loss } = softmaxCrossEntropy(tf.zeros([4, 10]) as tf.Tensor2D, tf.tensor1d([0, 3, 9, 2], "int32"), 10)
        expect(loss.dataSync()[0]).toBeCloseTo(Math.log(10), 5)
        const logits = tf.tensor2d(gaussian(seeded(1), 6, 5, 3), [6, 5])
        const labels = tf.tensor1d([0, 1, 2, 3, 4, 0], "int32")
        const auto = tf.grad((z: tf.Tensor) => softmaxCrossEntropy(z as tf.Tensor2D, labels, 5).loss)(logits)
        expectClose(toFlat(softmaxCrossEntropy(logits, labels, 5).dLogits), toFlat(auto), 1e-5, 1e-7, "dLogits")
      })
    )
  })

  for (const [name, make] of [
    ["linear", () => linearProbe(seeded(2), 12, 4, tfjsLinalg)],
    ["LISTA + linear", () => listaProbe(seeded(2), 12, 6, 3, 4, tfjsLinalg)]
  ] as const) {
    it(`${name}: the hand-written gradients match autograd`, () => {
      leakCheck(() => {
        const probe = make()
        tf.tidy(() => {
          const x = tf.tensor2d(gaussian(seeded(3), 8, 12), [8, 12])
          const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], "int32")
          const names = Object.keys(probe.variables)
          const auto = tf.variableGrads(
            () => softmaxCrossEntropy(probe.logits(x), labels, 4).loss,
            names.map((n) => probe.variables[n])
          )
          const grads = probe.gradients(x, tf.cast(tf.oneHot(labels, 4), "float32") as tf.Tensor2D)
          expect(Object.keys(grads).sort()).toEqual([...names].sort())
          for (const n of names)
            expectClose(toFlat(grads[n]), toFlat(auto.grads[probe.variables[n].name]), 1e-4, 1e-6, n)
        })
        probe.dispose()
      })
    })
  }
})

describe("probe training", () => {
  it("reaches 100% test accuracy on separable synthetic codes", () => {
    leakCheck(() => {
      const [classes, dim] = [10, 16]
      const train = separable(1, 5, classes, dim)
      const val = separable(2, 20, classes, dim)
      const test = separable(3, 50, classes, dim)
      const sets = [
        onDevice(train.x, train.labels, dim),
        onDevice(val.x, val.labels, dim),
        onDevice(test.x, test.labels, dim)
      ]
      const probe = linearProbe(seeded(4), dim, classes, tfjsLinalg)
      const fit = fitProbe(probe, sets[0], sets[1], {
        epochs: 100,
        batchSize: 32,
        learningRate: 1e-2,
        order: seeded(5)
      })
      expect(probeAccuracy(probe, sets[2])).toBe(1)
      expect(fit.valLoss).toHaveLength(100)
      expect(fit.bestValLoss).toBe(Math.min(...fit.valLoss))
      probe.dispose()
      dispose(...sets)
    })
  })

  it("hands back the weights of the epoch with the lowest validation loss, not the last epoch's", () => {
    leakCheck(() => {
      const [classes, dim] = [2, 4]
      const truth = separable(6, 20, classes, dim)
      // The training labels are swapped: every epoch moves the probe further from what validation rewards.
      const swapped = truth.labels.map((c) => 1 - c)
      const train = onDevice(truth.x, Int32Array.from(swapped), dim)
      const val = onDevice(truth.x, truth.labels, dim)
      const probe = linearProbe(seeded(7), dim, classes, tfjsLinalg)
      // Start from the right answer so that the best epoch is plainly better than the last.
      tf.tidy(() => probe.variables.Wb.assign(tf.tensor2d([1, 0, 0, 1, 0, 0, 0, 0, 0, 0], [dim + 1, classes])))
      const weights: Float32Array[] = []
      const accuracies: number[] = []
      const fit = fitProbe(probe, train, val, {
        epochs: 30,
        batchSize: 8,
        learningRate: 0.01,
        order: seeded(8),
        onEpoch: () => {
          weights.push(toFlat(probe.variables.Wb))
          accuracies.push(probeAccuracy(probe, val))
        }
      })
      // The premise: validation loss rises, so an early epoch is best and differs from the last.
      expect(fit.bestEpoch).toBeLessThan(30)
      expect(fit.valLoss[29]).toBeGreaterThan(fit.bestValLoss + 1)
      expect(accuracies[29]).toBe(0)
      expect(toFlat(probe.variables.Wb)).toEqual(weights[fit.bestEpoch - 1])
      expect(probeLoss(probe, val)).toBeCloseTo(fit.bestValLoss, 5)
      expect(probeAccuracy(probe, val)).toBe(accuracies[fit.bestEpoch - 1])
      expect(probeAccuracy(probe, val)).toBe(1)
      probe.dispose()
      dispose(train, val)
    })
  })
})

describe("example selection", () => {
  const plan: ClassifyPlan = {
    perClass: [1, 2, 5],
    repeats: 3,
    seed: 9,
    epochs: 1,
    batchSize: 8,
    learningRate: 1e-3,
    classes: 3
  }
  const labels = Uint8Array.from({ length: 60 }, (_, i) => (i * 7) % 3)

  it("takes K per class, nested over K, the same for the same seed, and pools what it uses", () => {
    const a = Effect.runSync(selectExamples(labels, plan))
    const b = Effect.runSync(selectExamples(labels, plan))
    expect(a.sets.map((s) => [...s.entries()])).toEqual(b.sets.map((s) => [...s.entries()]))
    const union = new Set<number>()
    for (const perK of a.sets) {
      let previous = new Set<number>()
      for (const k of plan.perClass) {
        const rows = perK.get(k) as Int32Array
        expect(rows).toHaveLength(3 * k)
        expect([...rows]).toEqual([...rows].sort((x, y) => x - y))
        for (let c = 0; c < 3; c++) expect([...rows].filter((r) => labels[r] === c)).toHaveLength(k)
        for (const r of previous) expect(rows).toContain(r)
        previous = new Set(rows)
        rows.forEach((r) => union.add(r))
      }
    }
    expect([...a.pool]).toEqual([...union].sort((x, y) => x - y))
    // Different repeats draw different examples.
    expect([...(a.sets[0].get(5) as Int32Array)]).not.toEqual([...(a.sets[1].get(5) as Int32Array)])
  })

  it("with subset first, takes the first K of each class in training order, the same for every repeat", () => {
    // Classes in an uneven order, so that "the first K rows" and "the first K of each class" differ.
    const ordered = Uint8Array.from([2, 2, 0, 1, 2, 0, 0, 1, 2, 1, 0, 1, 0, 2, 1])
    const first = Effect.runSync(selectExamples(ordered, { ...plan, perClass: [1, 2, 3], subset: "first" }))
    const expected = (k: number) =>
      [0, 1, 2].flatMap((c) => [...ordered.keys()].filter((i) => ordered[i] === c).slice(0, k)).sort((x, y) => x - y)
    for (const perK of first.sets)
      for (const k of [1, 2, 3]) expect([...(perK.get(k) as Int32Array)]).toEqual(expected(k))
    // K = 1: row 2 (the first 0), row 3 (the first 1), row 0 (the first 2).
    expect([...(first.sets[0].get(1) as Int32Array)]).toEqual([0, 2, 3])
    expect([...first.pool]).toEqual(expected(3))
  })

  it("refuses a K larger than a class, naming the class and the option: the field in code, the flag at the command line", () => {
    const result = Effect.runSync(Effect.either(selectExamples(labels, { ...plan, perClass: [50] })))
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") {
      expect(result.left.message).toMatch(/class \d has 20 training examples.*perClass$/)
      expect(commandLineMessage(result.left)).toMatch(/perClass \(option --per-class\)$/)
    }
  })

  it("reports mean and sample standard deviation", () => {
    expect(spread([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), min: 1, max: 4 })
    expect(spread([0.5])).toEqual({ mean: 0.5, std: 0, min: 0.5, max: 0.5 })
  })
})
