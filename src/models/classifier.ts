import * as tf from "@tensorflow/tfjs-core"
import { adam } from "./optimisers/adam.js"
import { disposeOptimizer, makeOptimizer, optimizerStep } from "./optimisers/chain.js"
import { disposeLista, listaBackward, listaTrace, listaVariables, makeLista } from "./encoder.js"
import type { Linalg } from "./linalg.js"
import { linearWeight, variableOf } from "./linear-init.js"
import type { UniformSource } from "./rng.js"

/**
 * Classifiers on top of fixed features, for low-data classification: a linear layer on
 * codes or pixels, or a LISTA encoder with a linear layer trained end to end. Gradients are
 * written by hand with explicit transposes: autograd would route them through matMul's transpose
 * flags, the slow path on the wasm backend.
 */

/**
 * Mean softmax cross-entropy over the rows and its gradient with respect to the logits,
 * (softmax − one-hot)/N. Must run inside a tidy.
 */
export const softmaxCrossEntropy = (
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  classes: number
): { loss: tf.Scalar; dLogits: tf.Tensor2D } => {
  const n = logits.shape[0]
  const target = tf.cast(tf.oneHot(labels, classes), "float32")
  const logProbabilities = tf.logSoftmax(logits)
  const loss = tf.neg(tf.div(tf.sum(tf.mul(target, logProbabilities)), n)) as tf.Scalar
  const dLogits = tf.div(tf.sub(tf.exp(logProbabilities), target), n) as tf.Tensor2D
  return { loss, dLogits }
}

/**
 * The gradient alone, (softmax − target)/N, with target the one-hot rows: what a training step
 * needs, in three ops where the loss would take a dozen.
 */
export const crossEntropyGradient = (logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor2D =>
  tf.div(tf.sub(tf.softmax(logits), target), logits.shape[0]) as tf.Tensor2D

/**
 * x·W + b with the bias kept as the last row of one (d+1)×C weight, so that it needs no Adam step
 * of its own: each parameter costs a dozen ops per step, and step overhead dominates these small
 * problems. The weight is sliced rather than x extended with ones, which would copy a whole split.
 */
const affine = (x: tf.Tensor2D, Wb: tf.Tensor): tf.Tensor2D => {
  const [d1, c] = Wb.shape as [number, number]
  return tf.add(tf.matMul(x, tf.slice(Wb, [0, 0], [d1 - 1, c])), tf.slice(Wb, [d1 - 1, 0], [1, c])) as tf.Tensor2D
}

/** The gradient of an affine map's [W; b] from its input and the gradient of its output. */
const affineGradient = (x: tf.Tensor2D, dOut: tf.Tensor2D): tf.Tensor2D =>
  tf.concat([tf.matMul(tf.transpose(x), dOut), tf.sum(dOut, 0, true)], 0) as tf.Tensor2D

/** PyTorch's nn.Linear initialisation for [W; b] acting on [x, 1]: W uniform in ±1/√fan_in, b zero. */
const affineWeight = (rng: UniformSource, fanIn: number, fanOut: number): tf.Variable => {
  const W = linearWeight(rng, fanIn, fanOut)
  const Wb = variableOf(tf.tidy(() => tf.concat([W, tf.zeros([1, fanOut])], 0)))
  W.dispose()
  return Wb
}

/** Mean softmax cross-entropy alone, for evaluation. Must run inside a tidy. */
export const crossEntropyLoss = (logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): tf.Scalar =>
  tf.neg(tf.div(tf.sum(tf.mul(tf.oneHot(labels, classes), tf.logSoftmax(logits))), logits.shape[0])) as tf.Scalar

/** A trainable map from feature rows to class logits. */
export interface Probe {
  readonly classes: number
  readonly variables: Readonly<Record<string, tf.Variable>>
  /** The kernels of its training. */
  readonly linalg: Linalg
  /** Logits of a batch. Must run inside a tidy. */
  readonly logits: (x: tf.Tensor2D) => tf.Tensor2D
  /** The gradient of the mean cross-entropy of a batch for every variable; target holds one-hot rows. Must run inside a tidy. */
  readonly gradients: (x: tf.Tensor2D, target: tf.Tensor2D) => Record<string, tf.Tensor>
  readonly dispose: () => void
}

/** Logits xW + b, with PyTorch's nn.Linear initialisation; W and b are kept as one (d+1)×C weight. */
export const linearProbe = (rng: UniformSource, dim: number, classes: number, linalg: Linalg): Probe => {
  const Wb = affineWeight(rng, dim, classes)
  return {
    classes,
    variables: { Wb },
    linalg,
    logits: (x) => affine(x, Wb),
    gradients: (x, target) => ({ Wb: affineGradient(x, crossEntropyGradient(affine(x, Wb), target)) }),
    dispose: () => Wb.dispose()
  }
}

/** A randomly initialised LISTA encoder followed by a linear layer, trained as one. */
export const listaProbe = (
  rng: UniformSource,
  dim: number,
  codeDim: number,
  steps: number,
  classes: number,
  linalg: Linalg
): Probe => {
  const encoder = makeLista(rng, dim, codeDim, steps, linalg)
  const head = affineWeight(rng, codeDim, classes)
  return {
    classes,
    variables: { ...listaVariables(encoder), head },
    linalg,
    logits: (x) => affine(listaTrace(encoder, x).codes, head),
    gradients: (x, target) => {
      const trace = listaTrace(encoder, x)
      const dLogits = crossEntropyGradient(affine(trace.codes, head), target)
      // The bias row of the head does not reach the codes.
      const headT = tf.transpose(tf.slice(head, [0, 0], [codeDim, classes])) as tf.Tensor2D
      const g = listaBackward(encoder, x, trace, tf.matMul(dLogits, headT))
      return { W: g.W, c: g.c, S: g.S, head: affineGradient(trace.codes, dLogits) }
    },
    dispose: () => {
      disposeLista(encoder)
      head.dispose()
    }
  }
}

/** Feature rows and their labels, on the device. */
export interface LabelledSet {
  readonly x: tf.Tensor2D
  /** int32 class indices. */
  readonly labels: tf.Tensor1D
}

export interface ProbeTraining {
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  /** Draws the mini-batch order of every epoch. */
  readonly order: UniformSource
  /** Called after each epoch (1-based) with the training and validation losses at its end. */
  readonly onEpoch?: (epoch: number, trainLoss: number, valLoss: number) => void
}

export interface ProbeFit {
  /** The 1-based epoch whose weights the probe holds on return: the lowest validation loss. */
  readonly bestEpoch: number
  readonly bestValLoss: number
  readonly valLoss: ReadonlyArray<number>
  readonly trainLoss: ReadonlyArray<number>
}

const permutation = (rng: UniformSource, n: number): Int32Array => {
  const p = Int32Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1))
    const t = p[i]
    p[i] = p[j]
    p[j] = t
  }
  return p
}

/** Rows per evaluation chunk: bounds the memory of a LISTA pass over a split larger than MNIST's. */
const CHUNK = 10000

const chunked = (set: LabelledSet, f: (x: tf.Tensor2D, labels: tf.Tensor1D) => number): number => {
  const n = set.x.shape[0]
  let total = 0
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start)
    total += tf.tidy(() => {
      const x = n <= CHUNK ? set.x : (tf.slice(set.x, [start, 0], [size, -1]) as tf.Tensor2D)
      const labels = n <= CHUNK ? set.labels : (tf.slice(set.labels, [start], [size]) as tf.Tensor1D)
      return f(x, labels)
    })
  }
  return total
}

/** Mean cross-entropy of the probe on a labelled set. */
export const probeLoss = (probe: Probe, set: LabelledSet): number =>
  chunked(set, (x, labels) => crossEntropyLoss(probe.logits(x), labels, probe.classes).dataSync()[0] * x.shape[0]) /
  set.x.shape[0]

/** Top-1 accuracy of the probe on a labelled set, in [0, 1]. */
export const probeAccuracy = (probe: Probe, set: LabelledSet): number =>
  chunked(
    set,
    (x, labels) => tf.sum(tf.cast(tf.equal(tf.argMax(probe.logits(x), 1), labels), "float32")).dataSync()[0]
  ) / set.x.shape[0]

/**
 * Adam on mini-batches for a number of epochs; after each epoch the validation loss is measured
 * and the weights of the best epoch so far are copied aside. On return the probe holds those
 * weights, not the last epoch's: a probe trained on a handful of examples overfits, and the
 * epoch count is a budget, not a choice.
 */
export const fitProbe = (probe: Probe, train: LabelledSet, val: LabelledSet, options: ProbeTraining): ProbeFit => {
  const n = train.x.shape[0]
  const batchSize = Math.min(options.batchSize, n)
  const optimizer = makeOptimizer([adam()], { ...probe.variables }, probe.linalg)
  const targets = tf.tidy(() => tf.cast(tf.oneHot(train.labels, probe.classes), "float32") as tf.Tensor2D)
  const valLoss: number[] = []
  const trainLoss: number[] = []
  let best: { epoch: number; loss: number; values: Record<string, Float32Array> } | null = null
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const order = permutation(options.order, n)
      // The last partial batch is kept: with ten examples there may be no full one.
      for (let start = 0; start < n; start += batchSize) {
        const rows = order.subarray(start, Math.min(start + batchSize, n))
        tf.tidy(() => {
          const index = tf.tensor1d(rows, "int32")
          optimizerStep(
            optimizer,
            probe.gradients(tf.gather(train.x, index) as tf.Tensor2D, tf.gather(targets, index) as tf.Tensor2D),
            { epoch, learningRate: options.learningRate }
          )
        })
      }
      // Measured after the epoch, on the weights that validation sees.
      trainLoss.push(probeLoss(probe, train))
      const current = probeLoss(probe, val)
      valLoss.push(current)
      // A non-finite loss never counts as an improvement, so a diverging probe keeps its last good weights.
      if (best === null ? Number.isFinite(current) : current < best.loss) {
        const values: Record<string, Float32Array> = {}
        for (const [name, v] of Object.entries(probe.variables))
          values[name] = Float32Array.from(v.dataSync() as Float32Array)
        best = { epoch, loss: current, values }
      }
      options.onEpoch?.(epoch, trainLoss[trainLoss.length - 1], current)
    }
    if (best !== null) {
      const saved = best.values
      tf.tidy(() => {
        for (const [name, v] of Object.entries(probe.variables)) v.assign(tf.tensor(saved[name], v.shape))
      })
    }
  } finally {
    disposeOptimizer(optimizer)
    targets.dispose()
  }
  return { bestEpoch: best?.epoch ?? 0, bestValLoss: best?.loss ?? NaN, valLoss, trainLoss }
}
