/**
 * Every registered decoder against one fixture: its declared reconstruction gradient and parameter
 * gradients against finite differences of the values they differentiate (and the dense decoders'
 * hand-written ones against the generic autodiff path), the shapes of its atoms, a checkpoint
 * round trip, and a tensor count that stays flat over training steps. A decoder added to the
 * registry is tested here with no new test.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { type DecoderKind, type DecoderSettings, geometryOf, makeDecoder } from "../../src/models/decoders/decoder.js"
import { autodiffLossGradients, autodiffReconstructionTerm } from "../../src/models/decoders/generic.js"
import { decoderKinds } from "../../src/models/decoders/registry.js"
import { tfjsLinalg } from "../../src/models/linalg.js"
import { disposeModel, makeModel, modelTensors, trainStep } from "../../src/models/model.js"
import type { ModelSettings } from "../../src/models/settings.js"
import {
  decodeCheckpoint,
  encodeSnapshot,
  expectedShapes,
  restoreSnapshot,
  snapshotModel
} from "../../src/pipeline/train/checkpoint.js"
import { smallSettings } from "../helpers/mnist-runs.js"
import { expectClose, gaussian, seeded, toFlat, useTestBackend } from "../helpers/tf.js"
import { Effect } from "effect"

useTestBackend()

/** 8×8 images; each kind with settings it accepts there, and its variants worth covering. */
const SIDE = 8
const D = SIDE * SIDE
interface Case {
  readonly label: string
  readonly kind: DecoderKind
  readonly s: DecoderSettings
}
const cases: ReadonlyArray<Case> = (decoderKinds as ReadonlyArray<DecoderKind>).flatMap((kind): Case[] => {
  const base = { activation: "relu", unitNormAtoms: false } as const
  switch (kind.name) {
    case "linear":
      return [{ label: "linear", kind, s: { ...base, codeDim: 6, hidden: [] } }]
    case "mlp":
      return (["relu", "tanh", "softplus"] as const).map((activation) => ({
        label: `mlp ${activation}`,
        kind,
        s: { ...base, codeDim: 6, hidden: [10, 7], activation }
      }))
    case "conv":
      return [
        { label: "conv, one layer", kind, s: { ...base, codeDim: 16, hidden: [] } },
        { label: "conv, two layers, tanh", kind, s: { ...base, codeDim: 8, hidden: [3], activation: "tanh" } }
      ]
    default:
      // A new kind: the settings every kind should accept on 8×8 images with a 4×4 code map.
      return [{ label: kind.name, kind, s: { ...base, codeDim: 16, hidden: [] } }]
  }
})

const N = 5

/** A decoder with non-zero biases (so that some hidden units are off), codes and a batch. */
const fixture = (kind: DecoderKind, s: DecoderSettings, seed: number) => {
  const rng = seeded(seed)
  const g = geometryOf(s.codeDim, D)
  const dec = makeDecoder(kind, s, g, rng, tfjsLinalg)
  for (const [name, role] of Object.entries(dec.roles)) {
    if (role === "bias")
      dec.params[name].assign(tf.tensor(gaussian(rng, 1, dec.params[name].size, 0.3), dec.params[name].shape))
  }
  const z = tf.tensor2d(
    Float32Array.from(gaussian(rng, N, s.codeDim), (v) => 0.3 + Math.abs(v)),
    [N, s.codeDim]
  )
  const x = tf.tensor2d(gaussian(rng, N, D, 0.5), [N, D])
  return { dec, z, x, rng }
}

/** Σ over directions of the central difference of f along each, against the gradient's inner product with it. */
const directionalCheck = (
  f: (t: number, v: tf.Tensor[]) => number,
  grads: tf.Tensor[],
  shapes: number[][],
  rng: ReturnType<typeof seeded>,
  what: string
) => {
  const got: number[] = []
  const want: number[] = []
  for (let k = 0; k < 4; k++) {
    // Small steps, so that a ReLU's kinks are seldom crossed.
    const v = shapes.map((shape) =>
      tf.tensor(
        gaussian(
          rng,
          1,
          shape.reduce((a, b) => a * b, 1),
          0.05
        ),
        shape
      )
    )
    const h = 1e-2
    want.push((f(h, v) - f(-h, v)) / (2 * h))
    got.push(grads.reduce((acc, g, i) => acc + tf.tidy(() => tf.sum(tf.mul(g, v[i])).dataSync()[0]), 0))
    v.forEach((t) => t.dispose())
  }
  expectClose(got, want, 2e-2, 2e-3, what)
}

describe.each(cases)("the $label decoder", ({ kind, s }) => {
  it("its reconstruction gradient is the derivative of (1/d)Σ‖x − D(z)‖², on the whole batch and on live rows", () => {
    const { dec, z, x, rng } = fixture(kind, s, 3)
    const term = dec.reconstructionTerm(x)
    try {
      const value = (c: tf.Tensor2D) => tf.tidy(() => tf.sum(tf.square(tf.sub(dec.decode(c), x))).dataSync()[0] / D)
      const g = term.gradient(z)
      directionalCheck(
        (t, [v]) => tf.tidy(() => value(tf.add(z, tf.mul(v, t)) as tf.Tensor2D)),
        [g],
        [[N, s.codeDim]],
        rng,
        "∂/∂z against finite differences"
      )
      // The hand-written path (dense decoders) and the generic one agree.
      const generic = autodiffReconstructionTerm(
        (c) => kind.forward(dec.params, c, s, dec.geometry).output,
        x,
        s.codeDim
      )
      const auto = generic.gradient(z)
      expectClose(toFlat(g), toFlat(auto), 1e-4, 1e-6, "declared ∂/∂z against autodiff")
      const rows = Int32Array.from([3, 0])
      const y = Float32Array.from([
        ...toFlat(z).subarray(3 * s.codeDim, 4 * s.codeDim),
        ...toFlat(z).subarray(0, s.codeDim)
      ])
      const live = Float32Array.from(term.gradientRows(y, rows))
      const full = toFlat(g)
      expectClose(
        live,
        [...full.subarray(3 * s.codeDim, 4 * s.codeDim), ...full.subarray(0, s.codeDim)],
        1e-4,
        1e-6,
        "gradientRows against gradient"
      )
      expect(Number.isFinite(term.lipschitz()) && term.lipschitz() > 0).toBe(true)
      g.dispose()
      auto.dispose()
      generic.dispose()
    } finally {
      term.dispose()
      dec.dispose()
      z.dispose()
      x.dispose()
    }
  })

  it("its parameter gradients are the derivatives of mean((x − D(z))²)", () => {
    const { dec, z, x, rng } = fixture(kind, s, 5)
    const names = Object.keys(dec.params)
    try {
      const { grads, declared, auto } = tf.tidy(() => {
        const declared = dec.lossGradients(z, x).grads
        const auto = autodiffLossGradients((ps, c) => kind.forward(ps, c, s, dec.geometry), dec.params, z, x).grads
        return {
          grads: names.map((n) => declared[n]),
          declared: names.map((n) => toFlat(declared[n])),
          auto: names.map((n) => toFlat(auto[n]))
        }
      })
      expect(Object.keys(tf.tidy(() => dec.lossGradients(z, x).grads)).sort()).toEqual([...names].sort())
      names.forEach((n, i) => expectClose(declared[i], auto[i], 1e-4, 1e-6, `declared ∂/∂${n} against autodiff`))
      const loss = (t: number, v: tf.Tensor[]) =>
        tf.tidy(() => {
          const moved = Object.fromEntries(names.map((n, i) => [n, tf.add(dec.params[n], tf.mul(v[i], t))]))
          return tf.mean(tf.square(tf.sub(kind.forward(moved, z, s, dec.geometry).output, x))).dataSync()[0]
        })
      directionalCheck(
        loss,
        grads,
        names.map((n) => [...dec.params[n].shape]),
        rng,
        "parameter gradients against finite differences"
      )
    } finally {
      dec.dispose()
      z.dispose()
      x.dispose()
    }
  })

  it("pictures one column and one atom per code component, with a norm for each", () => {
    const { dec, z, x } = fixture(kind, s, 7)
    try {
      const columns = dec.columns()
      expect(columns.images.length).toBe(columns.count * D)
      const scale = Float32Array.from({ length: s.codeDim }, (_, j) => 1 + j)
      const atoms = dec.atoms(scale)
      if (atoms !== null) {
        expect(atoms.count).toBe(s.codeDim)
        expect(atoms.images.length).toBe(s.codeDim * D)
        // D(cⱼeⱼ) − D(0), by definition.
        const j = 1
        const direct = tf.tidy(() => {
          const e = tf.mul(tf.oneHot([j], s.codeDim), scale[j]) as tf.Tensor2D
          return toFlat(tf.sub(dec.decode(e), dec.decode(tf.zeros([1, s.codeDim]))))
        })
        expectClose(atoms.images.subarray(j * D, (j + 1) * D), direct, 1e-5, 1e-6, "atom j")
      } else {
        expect(columns.count).toBe(s.codeDim)
      }
      const norms = dec.atomNorms()
      expect(norms.length).toBe(s.codeDim)
      expect(Array.from(norms).every((n) => Number.isFinite(n) && n >= 0)).toBe(true)
    } finally {
      dec.dispose()
      z.dispose()
      x.dispose()
    }
  })

  const settings = (): ModelSettings => ({
    ...smallSettings("vdl"),
    ...s,
    decoder: kind.name as ModelSettings["decoder"],
    batchSize: 8
  })

  it("goes through a checkpoint and back, under the names and shapes its module declares", async () => {
    const first = makeModel(settings(), D, seeded(1))
    const second = makeModel(settings(), D, seeded(2))
    try {
      const shapes = Object.fromEntries(Object.entries(modelTensors(first)).map(([k, v]) => [k, v.shape]))
      expect(expectedShapes(settings(), D)).toEqual(shapes)
      for (const p of kind.parameters(s, geometryOf(s.codeDim, D)))
        expect(shapes[`decoder.${p.name}`]).toEqual([...p.shape])
      const bytes = encodeSnapshot(snapshotModel(first, kind.name, 0))
      const snapshot = Either.getOrThrow(decodeCheckpoint(bytes, "memory"))
      await Effect.runPromise(restoreSnapshot(second, snapshot, "memory"))
      const a = modelTensors(first)
      const b = modelTensors(second)
      for (const name of Object.keys(a)) expect(toFlat(b[name])).toEqual(toFlat(a[name]))
    } finally {
      disposeModel(first)
      disposeModel(second)
    }
  })

  it("trains without leaving tensors behind", () => {
    const model = makeModel(settings(), D, seeded(4))
    const x = tf.tensor2d(Float32Array.from(gaussian(seeded(9), 8, D), Math.abs), [8, D])
    try {
      trainStep(model, x, 0, (t) => t.clone())
      const before = tf.memory().numTensors
      for (let step = 1; step < 4; step++) trainStep(model, x, 0, (t) => t.clone())
      expect(tf.memory().numTensors).toBe(before)
    } finally {
      x.dispose()
      disposeModel(model)
    }
  })
})
