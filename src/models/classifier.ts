import * as tf from "@tensorflow/tfjs-core"
import { adamStep, disposeAdam, makeAdam } from "./adam.js"
import { disposeLista, listaBackward, listaTrace, listaVariables, makeLista } from "./encoder.js"
import { linearWeight, zeroBias } from "./linear-init.js"
import type { UniformSource } from "./rng.js"

/**
 * Classifiers on top of fixed features (SPEC §7, low-data classification): a linear layer on
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

/** A trainable map from feature rows to class logits. */
export interface Probe {
  readonly classes: number
  readonly variables: Readonly<Record<string, tf.Variable>>
  /** Logits of a batch. Must run inside a tidy. */
  readonly logits: (x: tf.Tensor2D) => tf.Tensor2D
  /** Mean cross-entropy of a batch and its gradient for every variable. Must run inside a tidy. */
  readonly lossGradients: (x: tf.Tensor2D, labels: tf.Tensor1D) => { loss: tf.Scalar; grads: Record<string, tf.Tensor> }
  readonly dispose: () => void
}

/** Logits xW + b, with PyTorch's nn.Linear initialisation. */
export const linearProbe = (rng: UniformSource, dim: number, classes: number): Probe => {
  const W = linearWeight(rng, dim, classes)
  const b = zeroBias(classes)
  return {
    classes,
    variables: { W, b },
    logits: (x) => tf.add(tf.matMul(x, W), b) as tf.Tensor2D,
    lossGradients: (x, labels) => {
      const { loss, dLogits } = softmaxCrossEntropy(tf.add(tf.matMul(x, W), b) as tf.Tensor2D, labels, classes)
      return { loss, grads: { W: tf.matMul(tf.transpose(x), dLogits), b: tf.sum(dLogits, 0) } }
    },
    dispose: () => {
      W.dispose()
      b.dispose()
    }
  }
}

/** A randomly initialised LISTA encoder (SPEC §1) followed by a linear layer, trained as one. */
export const listaProbe = (rng: UniformSource, dim: number, codeDim: number, steps: number, classes: number): Probe => {
  const encoder = makeLista(rng, dim, codeDim, steps)
  const W = linearWeight(rng, codeDim, classes)
  const b = zeroBias(classes)
  const headLogits = (codes: tf.Tensor2D) => tf.add(tf.matMul(codes, W), b) as tf.Tensor2D
  return {
    classes,
    variables: { ...listaVariables(encoder), headW: W, headB: b },
    logits: (x) => headLogits(listaTrace(encoder, x).codes),
    lossGradients: (x, labels) => {
      const trace = listaTrace(encoder, x)
      const { loss, dLogits } = softmaxCrossEntropy(headLogits(trace.codes), labels, classes)
      const dCodes = tf.matMul(dLogits, tf.transpose(W)) as tf.Tensor2D
      const g = listaBackward(encoder, x, trace, dCodes)
      return { loss, grads: { W: g.W, c: g.c, S: g.S, headW: tf.matMul(tf.transpose(trace.codes), dLogits), headB: tf.sum(dLogits, 0) } }
    },
    dispose: () => {
      disposeLista(encoder)
      W.dispose()
      b.dispose()
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
  /** Called after each epoch (1-based) with the mean training loss and the validation loss. */
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

/** Rows per evaluation chunk: bounds the memory of a LISTA pass over a whole split. */
const CHUNK = 2500

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
  chunked(set, (x, labels) => softmaxCrossEntropy(probe.logits(x), labels, probe.classes).loss.dataSync()[0] * x.shape[0]) /
  set.x.shape[0]

/** Top-1 accuracy of the probe on a labelled set, in [0, 1]. */
export const probeAccuracy = (probe: Probe, set: LabelledSet): number =>
  chunked(set, (x, labels) => tf.sum(tf.cast(tf.equal(tf.argMax(probe.logits(x), 1), labels), "float32")).dataSync()[0]) /
  set.x.shape[0]

/**
 * Adam on mini-batches for a number of epochs; after each epoch the validation loss is measured
 * and the weights of the best epoch so far are copied aside. On return the probe holds those
 * weights, not the last epoch's: a probe trained on a handful of examples overfits, and the
 * epoch count is a budget, not a choice.
 */
export const fitProbe = (probe: Probe, train: LabelledSet, val: LabelledSet, options: ProbeTraining): ProbeFit => {
  const n = train.x.shape[0]
  const batchSize = Math.min(options.batchSize, n)
  const adam = makeAdam({ ...probe.variables })
  const valLoss: number[] = []
  const trainLoss: number[] = []
  let best: { epoch: number; loss: number; values: Record<string, Float32Array> } | null = null
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const order = permutation(options.order, n)
      let lossSum = 0
      // The last partial batch is kept: with ten examples there may be no full one.
      for (let start = 0; start < n; start += batchSize) {
        const rows = order.subarray(start, Math.min(start + batchSize, n))
        lossSum +=
          tf.tidy(() => {
            const index = tf.tensor1d(rows, "int32")
            const { loss, grads } = probe.lossGradients(tf.gather(train.x, index) as tf.Tensor2D, tf.gather(train.labels, index) as tf.Tensor1D)
            adamStep(adam, grads, options.learningRate)
            return loss.dataSync()[0]
          }) * rows.length
      }
      trainLoss.push(lossSum / n)
      const current = probeLoss(probe, val)
      valLoss.push(current)
      // A non-finite loss never counts as an improvement, so a diverging probe keeps its last good weights.
      if (best === null ? Number.isFinite(current) : current < best.loss) {
        const values: Record<string, Float32Array> = {}
        for (const [name, v] of Object.entries(probe.variables)) values[name] = Float32Array.from(v.dataSync() as Float32Array)
        best = { epoch, loss: current, values }
      }
      options.onEpoch?.(epoch, lossSum / n, current)
    }
    if (best !== null) {
      const saved = best.values
      tf.tidy(() => {
        for (const [name, v] of Object.entries(probe.variables)) v.assign(tf.tensor(saved[name], v.shape))
      })
    }
  } finally {
    disposeAdam(adam)
  }
  return { bestEpoch: best?.epoch ?? 0, bestValLoss: best?.loss ?? NaN, valLoss, trainLoss }
}
