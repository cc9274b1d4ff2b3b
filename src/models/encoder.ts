import * as tf from "@tensorflow/tfjs-core"
import { linearWeight, zeroBias } from "./linear-init.js"
import type { Linalg } from "./linalg.js"
import type { UniformSource } from "./rng.js"

/**
 * LISTA encoder with non-negative codes: b = xW + c, z⁰ = ReLU(b),
 * zᵗ = ReLU(b + zᵗ⁻¹S) for t = 1..T. Row-vector convention: W is d×l, S is l×l.
 */
export interface Lista {
  readonly W: tf.Variable
  readonly c: tf.Variable
  readonly S: tf.Variable
  readonly steps: number
  /** The products of its backward pass. */
  readonly linalg: Linalg
}

export const makeLista = (
  rng: UniformSource,
  inputDim: number,
  codeDim: number,
  steps: number,
  linalg: Linalg
): Lista => {
  const W = linearWeight(rng, inputDim, codeDim)
  const S = linearWeight(rng, codeDim, codeDim)
  return { W, c: zeroBias(codeDim), S, steps, linalg }
}

export const listaVariables = (e: Lista): Record<string, tf.Variable> => ({ W: e.W, c: e.c, S: e.S })

export const disposeLista = (e: Lista): void => {
  e.W.dispose()
  e.c.dispose()
  e.S.dispose()
}

/** The iterates z⁰..zᵀ, kept for the hand-written backward pass. */
export interface ListaTrace {
  readonly codes: tf.Tensor2D
  readonly iterates: ReadonlyArray<tf.Tensor2D>
}

/** The forward pass with every iterate kept, for a backward pass. Must run inside a tidy. */
export const listaTrace = (e: Lista, x: tf.Tensor2D): ListaTrace => {
  const b = tf.add(tf.matMul(x, e.W), e.c) as tf.Tensor2D
  const iterates: tf.Tensor2D[] = [tf.relu(b)]
  for (let t = 1; t <= e.steps; t++) {
    iterates.push(tf.relu(tf.add(b, tf.matMul(iterates[t - 1], e.S))) as tf.Tensor2D)
  }
  return { codes: iterates[e.steps], iterates }
}

/** E(x); call inside a tidy or dispose the result. */
export const encode = (e: Lista, x: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => listaTrace(e, x).codes)

export interface ListaGradients {
  readonly W: tf.Tensor
  readonly c: tf.Tensor
  readonly S: tf.Tensor
}

/**
 * Gradients of any loss with respect to W, c and S given its gradient dCodes with respect to the
 * codes of a traced forward pass, by hand so that products with a transposed operand go through
 * the encoder's Linalg (flags with a native BLAS, transposed copies on XNNPACK). Must run inside a tidy.
 */
export const listaBackward = (e: Lista, x: tf.Tensor2D, trace: ListaTrace, dCodes: tf.Tensor2D): ListaGradients => {
  const { iterates } = trace
  const { matMulAT, matMulBT, columnSums } = e.linalg
  let dz = dCodes
  let dB: tf.Tensor2D | null = null
  let dS: tf.Tensor2D | null = null
  for (let t = e.steps; t >= 0; t--) {
    // ReLU's derivative at 0 is taken as 0, as PyTorch does.
    const da = tf.mul(dz, tf.step(iterates[t])) as tf.Tensor2D
    dB = dB === null ? da : (tf.add(dB, da) as tf.Tensor2D)
    if (t > 0) {
      const contribution = matMulAT(iterates[t - 1], da)
      dS = dS === null ? contribution : (tf.add(dS, contribution) as tf.Tensor2D)
      dz = matMulBT(da, e.S as tf.Tensor as tf.Tensor2D)
    }
  }
  const dBias = dB as tf.Tensor2D
  return { W: matMulAT(x, dBias), c: columnSums(dBias), S: dS ?? tf.zerosLike(e.S) }
}

/**
 * Forward pass and gradients of mean((E(x) − target)²); `traced` reuses a forward pass of x made
 * with the same weights (training traces E(x) once for FISTA's warm start and for this). Must run
 * inside a tidy.
 */
export const listaLossGradients = (
  e: Lista,
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  traced?: ListaTrace
): { codes: tf.Tensor2D; loss: () => tf.Scalar; grads: ListaGradients } => {
  const trace = traced ?? listaTrace(e, x)
  const { codes } = trace
  const [n, l] = codes.shape
  const diff = tf.sub(codes, target)
  // On demand, as the decoder's: training does not read it.
  const loss = () => tf.mean(tf.square(diff)) as tf.Scalar
  return { codes, loss, grads: listaBackward(e, x, trace, tf.mul(diff, 2 / (n * l))) }
}
