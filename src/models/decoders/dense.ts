import * as tf from "@tensorflow/tfjs-core"
import { gatherRows } from "../gather-rows.js"
import { linearWeight, linearWeightValue, zeroBias } from "../linear-init.js"
import type { Elementwise, Linalg } from "../linalg.js"
import { readTidy } from "../read.js"
import { fixedUniforms, type UniformSource } from "../rng.js"
import { type Activation, type ActivationName, activations } from "./activations.js"
import type {
  AtomImages,
  DecoderSettings,
  GradientParts,
  HostTensor,
  ParameterSpec,
  ReconstructionTerm
} from "./decoder.js"

/**
 * The maths of dense decoders, which linear.ts and mlp.ts declare as modules: a stack of affine
 * maps with an activation between them. One layer without bias is the linear dictionary (SDL,
 * VDL); hidden widths [m] give the one-hidden-layer decoder of the -NL variants, and longer lists
 * give deeper stacks. Row-vector convention: layer k maps a batch H to H·W_k + b_k, so W_k is
 * fan_in × fan_out and the paper's "columns of A" are rows of W_k. Everything here is
 * hand-written (and bit-for-bit what the decoder computed before it became a module), because it
 * is faster than autodiff by the Gram form and the native products of src/models/linalg.ts.
 */
export interface DecoderLayer {
  readonly W: tf.Variable
  readonly b: tf.Variable | null
}

export interface DenseDecoder {
  readonly layers: ReadonlyArray<DecoderLayer>
  readonly codeDim: number
  readonly outputDim: number
  /** The products of its gradients and of inference. */
  readonly linalg: Linalg
  readonly activation: Activation
}

/** A dense stack's parameter names: W1, b1, W2, b2, …, W_L (the last layer has no bias). */
export const denseParameterNames = (
  layerCount: number
): Array<{ readonly name: string; readonly layer: number; readonly bias: boolean }> =>
  Array.from({ length: layerCount }, (_, k) => [
    { name: `W${k + 1}`, layer: k, bias: false },
    ...(k + 1 < layerCount ? [{ name: `b${k + 1}`, layer: k, bias: true }] : [])
  ]).flat()

/**
 * The parameters of a stack from codeDim through the hidden widths to outputDim, with PyTorch's
 * nn.Linear initialisation of the weights (linear-init.ts) and zero biases, drawn in this order.
 */
export const denseParameters = (codeDim: number, hidden: ReadonlyArray<number>, outputDim: number): ParameterSpec[] => {
  const widths = [codeDim, ...hidden, outputDim]
  return denseParameterNames(widths.length - 1).map(({ name, layer, bias }): ParameterSpec => {
    const fanIn = widths[layer]
    const fanOut = widths[layer + 1]
    if (bias) return { name, shape: [fanOut], role: "bias", init: () => tf.zeros([fanOut]) }
    return { name, shape: [fanIn, fanOut], role: "atoms", init: (rng) => linearWeightValue(rng, fanIn, fanOut) }
  })
}

/** The layers of a stack from its parameters by name. */
export const layersOf = <T>(
  params: Readonly<Record<string, T>>,
  layerCount: number
): Array<{ readonly W: T; readonly b: T | null }> =>
  Array.from({ length: layerCount }, (_, k) => ({
    W: params[`W${k + 1}`],
    b: k + 1 < layerCount ? params[`b${k + 1}`] : null
  }))

/** A dense decoder's view of a decoder's variables. */
export const denseOf = (
  params: Readonly<Record<string, tf.Variable>>,
  s: DecoderSettings,
  outputDim: number,
  linalg: Linalg
): DenseDecoder => ({
  layers: layersOf(params, s.hidden.length + 1),
  codeDim: s.codeDim,
  outputDim,
  linalg,
  activation: activations[s.activation]
})

/** A dense decoder on its own, outside a model (tests, experiments). */
export const makeDenseDecoder = (
  rng: UniformSource,
  codeDim: number,
  hidden: ReadonlyArray<number>,
  outputDim: number,
  linalg: Linalg,
  activation: ActivationName = "relu"
): DenseDecoder => {
  const widths = [codeDim, ...hidden, outputDim]
  const layers: DecoderLayer[] = []
  for (let k = 0; k + 1 < widths.length; k++) {
    const isLast = k + 2 === widths.length
    layers.push({ W: linearWeight(rng, widths[k], widths[k + 1]), b: isLast ? null : zeroBias(widths[k + 1]) })
  }
  return { layers, codeDim, outputDim, linalg, activation: activations[activation] }
}

export const isLinear = (d: DenseDecoder): boolean => d.layers.length === 1

export const disposeDenseDecoder = (d: DenseDecoder): void => {
  for (const layer of d.layers) {
    layer.W.dispose()
    layer.b?.dispose()
  }
}

/** The backend's in-place element-wise steps, where this stack's activation is the ReLU they fuse. */
const fusedRelu = (d: { readonly activation: Activation; readonly linalg?: Linalg }): Elementwise | null =>
  d.activation === activations.relu ? (d.linalg?.elementwise ?? null) : null

/** The activation of a layer's fresh product plus its bias. Must run inside a tidy. */
const activated = (
  d: { readonly activation: Activation; readonly linalg?: Linalg },
  pre: tf.Tensor2D,
  bias: tf.Tensor | null
): tf.Tensor2D =>
  fusedRelu(d)?.biasRelu(pre, bias) ?? (d.activation.apply(bias === null ? pre : tf.add(pre, bias)) as tf.Tensor2D)

/** A fresh gradient with respect to a layer's output carried back through its activation (output h). Must run inside a tidy. */
const throughActivation = (
  d: { readonly activation: Activation; readonly linalg?: Linalg },
  g: tf.Tensor2D,
  h: tf.Tensor2D
): tf.Tensor2D => fusedRelu(d)?.reluBackward(g, h) ?? (tf.mul(g, d.activation.slope(h)) as tf.Tensor2D)

/** Hidden activations of every layer but the last, then the output. Must run inside a tidy. */
export const forwardTrace = (
  d: Pick<DenseDecoder, "activation"> & {
    readonly layers: ReadonlyArray<{ readonly W: tf.Tensor; readonly b: tf.Tensor | null }>
    readonly linalg?: Linalg
  },
  z: tf.Tensor2D
): { hidden: tf.Tensor2D[]; output: tf.Tensor2D } => {
  const hidden: tf.Tensor2D[] = []
  let h = z
  d.layers.forEach((layer, k) => {
    const pre = tf.matMul(h, layer.W) as tf.Tensor2D
    if (k + 1 < d.layers.length) {
      h = activated(d, pre, layer.b)
      hidden.push(h)
    } else {
      h = pre
    }
  })
  return { hidden, output: h }
}

/** D(z). */
export const decodeDense = (d: DenseDecoder, z: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => forwardTrace(d, z).output)

/**
 * Backward pass through the stack from dOutput: the gradient with respect to the input z, or to
 * every weight and bias (then dz, which the decoder's update does not need, is not computed).
 * Must run inside a tidy.
 */
const backward = (
  d: DenseDecoder,
  z: tf.Tensor2D,
  hidden: ReadonlyArray<tf.Tensor2D>,
  dOutput: tf.Tensor2D,
  wantParams: boolean
): { dz: tf.Tensor2D | null; dW: tf.Tensor2D[]; db: (tf.Tensor1D | null)[] } => {
  const L = d.layers.length
  const { matMulAT, matMulBT, columnSums } = d.linalg
  const dW: tf.Tensor2D[] = new Array(L)
  const db: (tf.Tensor1D | null)[] = new Array(L).fill(null)
  let g = dOutput
  for (let k = L - 1; k >= 0; k--) {
    const input = k === 0 ? z : hidden[k - 1]
    if (wantParams) {
      dW[k] = matMulAT(input, g)
      if (d.layers[k].b !== null) db[k] = columnSums(g)
      if (k === 0) return { dz: null, dW, db }
    }
    g = matMulBT(g, d.layers[k].W as tf.Tensor as tf.Tensor2D)
    if (k > 0) g = throughActivation(d, g, hidden[k - 1])
  }
  return { dz: g, dW, db }
}

export interface DecoderGradients {
  readonly W: ReadonlyArray<tf.Tensor2D>
  readonly b: ReadonlyArray<tf.Tensor1D | null>
}

/**
 * Reconstruction, the decoder's loss mean((x − D(z))²) over pixels and rows, and its gradients
 * with respect to the decoder's parameters. Must run inside a tidy.
 */
export const denseLossGradients = (
  d: DenseDecoder,
  z: tf.Tensor2D,
  x: tf.Tensor2D
): {
  reconstruction: tf.Tensor2D
  hidden: ReadonlyArray<tf.Tensor2D>
  loss: () => tf.Scalar
  grads: DecoderGradients
} => {
  const { hidden, output } = forwardTrace(d, z)
  const residual = tf.sub(output, x)
  const dOut = tf.mul(residual, 2 / residual.size) as tf.Tensor2D
  const { dW, db } = backward(d, z, hidden, dOut, true)
  // On demand: training reads the energy instead, and every operation here counts.
  const loss = () => tf.mean(tf.square(residual)) as tf.Scalar
  return { reconstruction: output, hidden, loss, grads: { W: dW, b: db } }
}

/**
 * Largest eigenvalue of a symmetric positive semi-definite matrix by power iteration on the host
 * in float64. The start vector is pseudo-random, since a structured one (all ones) can be
 * orthogonal to the top eigenvector; iterations continue until the estimate settles, which close
 * top eigenvalues make slow.
 */
const largestEigenvalue = (symmetric: tf.Tensor2D, tolerance = 1e-10): number => {
  const n = symmetric.shape[0]
  // About 2·10⁸ multiply-adds at most: thousands of steps for a code-sized Gram, fewer for wide layers.
  const maxIterations = Math.max(50, Math.min(5000, Math.floor(2e8 / (n * n))))
  const a = Float64Array.from(symmetric.dataSync() as Float32Array)
  let v = new Float64Array(n)
  const start = fixedUniforms(0x2545f491)
  for (let i = 0; i < n; i++) v[i] = start.next() - 0.5
  let estimate = 0
  for (let it = 0; it < maxIterations; it++) {
    const w = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < n; j++) s += a[i * n + j] * v[j]
      w[i] = s
    }
    let norm = 0
    for (let i = 0; i < n; i++) norm += w[i] * w[i]
    norm = Math.sqrt(norm)
    if (norm === 0) return 0
    const previous = estimate
    estimate = norm / Math.sqrt(v.reduce((acc, x) => acc + x * x, 0))
    for (let i = 0; i < n; i++) w[i] /= norm
    v = w
    if (it > 0 && Math.abs(estimate - previous) <= tolerance * estimate) break
  }
  return estimate
}

/** Largest singular value squared of W, by power iteration on the smaller Gram matrix. */
const spectralNormSquared = (W: tf.Tensor2D, { matMulAT, matMulBT }: Linalg): number =>
  tf.tidy(() => {
    const [r, c] = W.shape
    const gram = r <= c ? matMulBT(W, W) : matMulAT(W, W)
    return largestEigenvalue(gram as tf.Tensor2D)
  })

/**
 * Linear decoder in Gram form: ∇ = (2/d)(zG − xWᵀ) with G = WWᵀ (l×l) and xWᵀ computed once per
 * batch, so each step costs one N×l×l product instead of two N×l×d ones.
 */
const linearTerm = (W: tf.Variable, x: tf.Tensor2D, { matMulBT, hostGemm: gemm }: Linalg): ReconstructionTerm => {
  const d = W.shape[1] as number
  const { gram, target } = tf.tidy(() => {
    const W2 = W as tf.Tensor as tf.Tensor2D
    return { gram: matMulBT(W2, W2), target: matMulBT(x, W2) }
  })
  const l = gram.shape[0]
  const targetHost = target.dataSync() as Float32Array
  const gramHost = gemm === null ? null : (gram.dataSync() as Float32Array)
  // One buffer for every step's product: a fresh array per step is garbage at FISTA's pace. The
  // caller reads each step's gradient before it asks for the next.
  const products = gemm === null ? null : new Float32Array(x.shape[0] * l)
  const c = 2 / d
  // The live rows' y·G into `out` through the host BLAS; null without one.
  const hostProduct =
    gemm === null || gramHost === null
      ? null
      : (y: Float32Array, rows: Int32Array, out: Float32Array): Float32Array => {
          const size = rows.length * l
          return gemm(y.subarray(0, size), gramHost, rows.length, l, l, out.subarray(0, size))
        }
  return {
    gradient: (z) => tf.tidy(() => tf.mul(tf.sub(tf.matMul(z, gram), target), c) as tf.Tensor2D),
    gradientRows: (y, rows) => {
      const product =
        hostProduct !== null && products !== null
          ? hostProduct(y, rows, products)
          : readTidy(() => tf.matMul(tf.tensor2d(y, [rows.length, l]), gram))
      for (let p = 0; p < rows.length; p++) {
        const base = rows[p] * l
        for (let j = 0, q = p * l; j < l; j++, q++) product[q] = c * (product[q] - targetHost[base + j])
      }
      return product
    },
    ...(hostProduct === null
      ? {}
      : {
          gradientInParts: (y: Float32Array, rows: Int32Array, product: Float32Array): GradientParts => {
            hostProduct(y, rows, product)
            return { target: targetHost, scale: c }
          }
        }),
    lipschitz: () => c * largestEigenvalue(gram),
    dispose: () => {
      gram.dispose()
      target.dispose()
    }
  }
}

/** tf.tidy for a result whose optional members are null: tidy's types know no null. */
const keepAll = <T>(f: () => T): T => tf.tidy(f as () => tf.TensorContainer) as T

/**
 * When the last layer of a multi-layer decoder is narrower than twice the output, its part of the
 * gradient can be taken in Gram form, hG − xWᵀ instead of (hW − x)Wᵀ. Building G costs m·m·d
 * multiply-adds and saves m·(2d − m) per live row and step, so it pays only when inference runs
 * long enough: "auto" builds it once the direct way has spent as many row-steps as the Gram
 * would cost (never more than twice the better choice), "always" and "never" force it.
 */
export type LastLayerGram = "auto" | "always" | "never"

interface GramForm {
  readonly gram: tf.Tensor2D
  readonly target: tf.Tensor2D
}

/** Multi-layer decoder: backpropagation with the transposed weights kept for the whole inference. */
const stackTerm = (dec: DenseDecoder, x: tf.Tensor2D, lastLayerGram: LastLayerGram): ReconstructionTerm => {
  const d = dec.outputDim
  const L = dec.layers.length
  const l = dec.codeDim
  const lastW = dec.layers[L - 1].W as tf.Tensor as tf.Tensor2D
  const m = lastW.shape[0]
  const { matMulBT } = dec.linalg
  // Without a native BLAS, transposed copies made once serve every step.
  const transposed = dec.linalg.transposeFlagsAreFast
    ? null
    : tf.tidy(() => dec.layers.map((layer) => tf.transpose(layer.W) as tf.Tensor2D))
  const timesTransposed = (g: tf.Tensor2D, k: number): tf.Tensor2D =>
    transposed !== null
      ? (tf.matMul(g, transposed[k]) as tf.Tensor2D)
      : matMulBT(g, dec.layers[k].W as tf.Tensor as tf.Tensor2D)
  const breakEven =
    lastLayerGram === "never" || m >= 2 * d ? Infinity : lastLayerGram === "always" ? 0 : (m * d) / (2 * d - m)
  let rowSteps = 0
  let gramForm: GramForm | null = null
  const useGramWhenDue = (): void => {
    if (gramForm === null && rowSteps >= breakEven) {
      gramForm = keepAll((): GramForm => ({ gram: matMulBT(lastW, lastW), target: matMulBT(x, lastW) }))
    }
  }
  useGramWhenDue()
  // Rows of x (or of xWᵀ) for a subset of the batch are copied on the host: the wasm backend's
  // gather of 200 rows of 784 takes longer (9 ms) than a step's products.
  let hostX: Float32Array | null = null
  let hostTarget: Float32Array | null = null
  // y − x written over the fresh product y where the backend can.
  const difference = (y: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D =>
    dec.linalg.elementwise?.subtract(y, x) ?? (tf.sub(y, x) as tf.Tensor2D)
  const pickRows = (source: Float32Array, width: number, rows: Int32Array): tf.Tensor2D =>
    tf.tensor2d(gatherRows(source, width, rows), [rows.length, width])
  const gradientOf = (z: tf.Tensor2D, rows: Int32Array | null): tf.Tensor2D =>
    tf.tidy(() => {
      const hidden: tf.Tensor2D[] = []
      let h = z
      for (let k = 0; k + 1 < L; k++) {
        const layer = dec.layers[k]
        h = activated(dec, tf.matMul(h, layer.W) as tf.Tensor2D, layer.b)
        hidden.push(h)
      }
      const form = gramForm as GramForm | null
      let g: tf.Tensor2D
      if (form !== null) {
        if (rows !== null) hostTarget ??= form.target.dataSync() as Float32Array
        const target = rows === null || hostTarget === null ? form.target : pickRows(hostTarget, m, rows)
        g = difference(tf.matMul(h, form.gram) as tf.Tensor2D, target)
      } else {
        if (rows !== null) hostX ??= x.dataSync() as Float32Array
        const target = rows === null || hostX === null ? x : pickRows(hostX, d, rows)
        g = timesTransposed(difference(tf.matMul(h, lastW) as tf.Tensor2D, target), L - 1)
      }
      for (let k = L - 2; k >= 0; k--) {
        g = throughActivation(dec, g, hidden[k])
        g = timesTransposed(g, k)
      }
      // The factor 2/d of the residual, applied where the rows are narrowest (the code width).
      return tf.mul(g, 2 / d) as tf.Tensor2D
    })
  return {
    gradient: (z) => gradientOf(z, null),
    gradientRows: (y, rows) => {
      rowSteps += rows.length
      useGramWhenDue()
      // Frozen rows are dropped from the work: only the live rows' data take part.
      const everyRowInOrder = rows.length === x.shape[0] && rows.every((r, p) => r === p)
      return readTidy(() => gradientOf(tf.tensor2d(y, [rows.length, l]), everyRowInOrder ? null : rows))
    },
    // Every activation is 1-Lipschitz, so the product of the layers' spectral norms bounds the Jacobian.
    lipschitz: () =>
      (2 / d) *
      dec.layers.reduce((acc, layer) => acc * spectralNormSquared(layer.W as tf.Tensor as tf.Tensor2D, dec.linalg), 1),
    dispose: () => {
      transposed?.forEach((t) => t.dispose())
      const form = gramForm as GramForm | null
      form?.gram.dispose()
      form?.target.dispose()
    }
  }
}

export const denseReconstructionTerm = (
  dec: DenseDecoder,
  x: tf.Tensor2D,
  lastLayerGram: LastLayerGram = "auto"
): ReconstructionTerm => (isLinear(dec) ? linearTerm(dec.layers[0].W, x, dec.linalg) : stackTerm(dec, x, lastLayerGram))

/** Reference gradient of the reconstruction term by plain backprop, for tests. */
export const reconstructionGradientDirect = (dec: DenseDecoder, z: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const { hidden, output } = forwardTrace(dec, z)
    const dOut = tf.mul(tf.sub(output, x), 2 / dec.outputDim) as tf.Tensor2D
    return backward(dec, z, hidden, dOut, false).dz as tf.Tensor2D
  })

/** The rows of the last weight as images: the columns of A for a linear dictionary, of A₂ for the -NL decoder. */
export const lastLayerRows = (d: DenseDecoder): AtomImages => {
  const last = d.layers[d.layers.length - 1].W
  return { images: Float32Array.from(last.dataSync() as Float32Array), count: last.shape[0] as number }
}

/** A rows × cols row-major matrix transposed. */
const transposed = (m: HostTensor): HostTensor => {
  const [rows, cols] = m.shape as [number, number]
  const out = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m.data[i * cols + j]
  return { shape: [cols, rows], data: out }
}

/**
 * The stack as nn.Sequential(Linear, act, Linear, …), its last Linear without bias:
 * `decoder.0.weight`, `decoder.0.bias`, `decoder.2.weight`, …. We compute with row vectors, x·W,
 * so every weight here is stored input × output; nn.Linear stores output × input, so each weight
 * is transposed.
 */
export const denseTorchTensors = (
  layerCount: number,
  params: Readonly<Record<string, HostTensor>>
): Record<string, HostTensor> => {
  const out: Record<string, HostTensor> = {}
  layersOf(params, layerCount).forEach((layer, k) => {
    out[`decoder.${2 * k}.weight`] = transposed(layer.W)
    if (layer.b !== null) out[`decoder.${2 * k}.bias`] = layer.b
  })
  return out
}
