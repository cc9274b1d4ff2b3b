import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { fitProbe, type LabelledSet, type Probe, probeAccuracy } from "../../models/classifier.js"
import { gatherRows } from "../../models/gather-rows.js"
import type { Linalg } from "../../models/linalg.js"
import type { UniformSource } from "../../models/rng.js"
import { Backend } from "../backend/backend.js"
import { Progress } from "../train/progress.js"
import { rngFor } from "../train/seeds.js"
import type { SubsetMode } from "../choices.js"
import { EvaluationError } from "./errors.js"

/** What a low-data classification study runs (docs/method.md, Metrics). */
export interface ClassifyPlan {
  /** K, labelled training examples per class. */
  readonly perClass: ReadonlyArray<number>
  /** Repeats; repeat r draws its examples, initialisation and batch order from seed + r. */
  readonly repeats: number
  readonly seed: number
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  readonly classes: number
  /**
   * How each class's K examples are picked: "random" (the default), a seeded random K per repeat;
   * "first", the first K of the class in the training split's order, the same for every repeat,
   * as the authors' protocol does (their repeats differ in initialisation and order only).
   */
  readonly subset?: SubsetMode
}

/**
 * The examples of each repeat: per class, the training rows of that class in a seeded order (or
 * in training order, with subset "first"). The first K of each class make the K-per-class set, so
 * the sets of one repeat are nested and every code kind and baseline is trained on the same images.
 */
export interface Selection {
  /** selections[r].get(K): training row indices, sorted. */
  readonly sets: ReadonlyArray<ReadonlyMap<number, Int32Array>>
  /** Every training row some set uses, sorted: the only training rows whose features are needed. */
  readonly pool: Int32Array
}

export const selectExamples = (labels: Uint8Array, plan: ClassifyPlan): Effect.Effect<Selection, EvaluationError> =>
  Effect.gen(function* () {
    const byClass: number[][] = Array.from({ length: plan.classes }, () => [])
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= plan.classes) {
        return yield* Effect.fail(
          new EvaluationError({
            what: "classification",
            problem: `training row ${i} has label ${labels[i]}, outside 0..${plan.classes - 1}`
          })
        )
      }
      byClass[labels[i]].push(i)
    }
    const largest = Math.max(...plan.perClass)
    const scarce = byClass.findIndex((rows) => rows.length < largest)
    if (scarce >= 0) {
      return yield* Effect.fail(
        new EvaluationError({
          what: "classification",
          problem: `class ${scarce} has ${byClass[scarce].length} training examples, fewer than the ${largest} per class asked for; lower the largest value of perClass`,
          fields: ["perClass"]
        })
      )
    }
    const used = new Uint8Array(labels.length)
    const sets = Array.from({ length: plan.repeats }, (_, r) => {
      const rng = rngFor(plan.seed + r, "split")
      const orders = byClass.map((rows) => {
        if (plan.subset === "first") return rows.slice(0, largest)
        const p = rng.permutation(rows.length)
        return p.slice(0, largest).map((k) => rows[k])
      })
      const perK = new Map<number, Int32Array>()
      for (const k of plan.perClass) {
        const chosen = Int32Array.from(orders.flatMap((o) => o.slice(0, k))).sort()
        for (const i of chosen) used[i] = 1
        perK.set(k, chosen)
      }
      return perK
    })
    const pool = Int32Array.from(Array.from(used.keys()).filter((i) => used[i] === 1))
    return { sets, pool }
  })

/**
 * Features of a classification series: values for the pool's training rows (in pool order), for
 * the whole validation split and for the whole test split.
 */
export interface Features {
  readonly dim: number
  readonly pool: Float32Array
  readonly val: Float32Array
  readonly test: Float32Array
}

export interface Labels {
  readonly train: Uint8Array
  readonly val: Uint8Array
  readonly test: Uint8Array
}

/** One classification series: a kind of features and the probe trained on them. */
export interface Series {
  readonly name: string
  readonly features: Features
  readonly probe: (init: UniformSource, dim: number, classes: number, linalg: Linalg) => Probe
}

/** One trained probe: repeat r with K examples per class. */
export interface ProbeOutcome {
  readonly perClass: number
  readonly repeat: number
  readonly accuracy: number
  readonly bestEpoch: number
  readonly bestValLoss: number
}

const labelled = (x: Float32Array, dim: number, labels: Uint8Array): LabelledSet => ({
  x: tf.tensor2d(x, [labels.length, dim]),
  labels: tf.tensor1d(Int32Array.from(labels), "int32")
})

const disposeSet = (s: LabelledSet) => {
  s.x.dispose()
  s.labels.dispose()
}

/**
 * Trains a probe for every repeat and K on the series' features, each selected by validation
 * loss with its best weights restored, and measures test top-1 accuracy.
 */
export const runSeries = (series: Series, labels: Labels, selection: Selection, plan: ClassifyPlan) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { dim } = series.features
      const { linalg } = yield* Backend
      const position = new Int32Array(labels.train.length).fill(-1)
      selection.pool.forEach((row, p) => (position[row] = p))
      const val = yield* Effect.acquireRelease(
        Effect.sync(() => labelled(series.features.val, dim, labels.val)),
        (s) => Effect.sync(() => disposeSet(s))
      )
      const test = yield* Effect.acquireRelease(
        Effect.sync(() => labelled(series.features.test, dim, labels.test)),
        (s) => Effect.sync(() => disposeSet(s))
      )
      const bar = yield* (yield* Progress).bar(series.name, plan.repeats * plan.perClass.length)
      const outcomes: ProbeOutcome[] = []
      for (let r = 0; r < plan.repeats; r++) {
        for (const k of plan.perClass) {
          const rows = selection.sets[r].get(k) as Int32Array
          const x = gatherRows(
            series.features.pool,
            dim,
            Array.from(rows, (row) => position[row])
          )
          const outcome = yield* Effect.acquireUseRelease(
            Effect.sync(() => ({
              train: labelled(
                x,
                dim,
                Uint8Array.from(rows, (row) => labels.train[row])
              ),
              probe: series.probe(rngFor(plan.seed + r, "init"), dim, plan.classes, linalg)
            })),
            ({ train, probe }) =>
              Effect.sync((): ProbeOutcome => {
                const fit = fitProbe(probe, train, val, {
                  epochs: plan.epochs,
                  batchSize: plan.batchSize,
                  learningRate: plan.learningRate,
                  order: rngFor(plan.seed + r, "order")
                })
                return {
                  perClass: k,
                  repeat: r,
                  accuracy: probeAccuracy(probe, test),
                  bestEpoch: fit.bestEpoch,
                  bestValLoss: fit.bestValLoss
                }
              }),
            ({ train, probe }) =>
              Effect.sync(() => {
                disposeSet(train)
                probe.dispose()
              })
          )
          outcomes.push(outcome)
          yield* bar.update(outcomes.length, `K=${k} repeat ${r + 1}: ${(100 * outcome.accuracy).toFixed(1)}%`)
        }
      }
      return outcomes
    })
  )

/** Mean, sample standard deviation (0 for one value), minimum and maximum. */
export const spread = (values: ReadonlyArray<number>) => {
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = n > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0
  return { mean, std: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) }
}
