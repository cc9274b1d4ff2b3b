import * as tf from "@tensorflow/tfjs-core"
import type { Linalg } from "../linalg.js"
import { variableOf } from "../linear-init.js"
import type { UniformSource } from "../rng.js"
import type { ActivationName } from "./activations.js"
import { autodiffLossGradients, autodiffReconstructionTerm, differenceAtoms, rowNormsOf } from "./generic.js"

/**
 * A decoder is a module: a value of type DecoderKind, one file each, declared (X.declaration.ts)
 * and listed once in declarations.ts.
 * It declares its parameters (names, shapes, initialisation), its forward map D, and whatever it
 * computes faster than the generic path does; everything it leaves out (the reconstruction term
 * inference uses, its parameters' gradients, its atoms) comes from TensorFlow.js autodiff of D.
 * Row-vector convention throughout: a batch of codes is N×l, its decoding N×d.
 */

/** The settings a decoder reads (fields of ModelSettings). */
export interface DecoderSettings {
  readonly codeDim: number
  readonly hidden: ReadonlyArray<number>
  readonly activation: ActivationName
  readonly unitNormAtoms: boolean
}

/** The images a decoder produces: d = height·width values per row. */
export interface DecoderGeometry {
  readonly codeDim: number
  readonly outputDim: number
  readonly height: number
  readonly width: number
}

/**
 * A square image of outputDim pixels when nothing else is known (MNIST, square patches); a
 * decoder that needs the image's shape (conv) says so through its geometryProblem otherwise.
 */
export const geometryOf = (
  codeDim: number,
  outputDim: number,
  image?: { readonly height: number; readonly width: number }
): DecoderGeometry => {
  if (image !== undefined) return { codeDim, outputDim, height: image.height, width: image.width }
  const side = Math.round(Math.sqrt(outputDim))
  return side * side === outputDim
    ? { codeDim, outputDim, height: side, width: side }
    : { codeDim, outputDim, height: 1, width: outputDim }
}

/**
 * What update transforms do with a parameter: "atoms" is a matrix whose rows are atoms (weight
 * decay and the unit-norm projection act on it), "weight" another weight (weight decay only),
 * "bias" a bias (the hidden-bias decay).
 */
export type ParameterRole = "atoms" | "weight" | "bias"

export interface ParameterSpec {
  /** The tensor's name in checkpoints: `decoder.<name>`. */
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly role: ParameterRole
  /** Its initial value, drawing from the model's generator in the order of the list. */
  readonly init: (rng: UniformSource) => tf.Tensor
}

/** A tensor on the host, row-major, as checkpoints and exports hold them. */
export interface HostTensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

/** The decoder's weights under PyTorch module names, or why it has none. */
export type TorchLayout =
  | { readonly kind: "tensors"; readonly tensors: Readonly<Record<string, HostTensor>>; readonly description: string }
  | { readonly kind: "refused"; readonly reason: string }

/** D(z) and the activations of its first hidden layer (null without one), flattened to rows. */
export interface DecoderTrace {
  readonly output: tf.Tensor2D
  readonly hidden: tf.Tensor2D | null
}

/** A gradient c·(P − T) left in parts: P in the caller's buffer, by live row; T by batch row. */
export interface GradientParts {
  readonly target: Float32Array
  readonly scale: number
}

/**
 * The reconstruction term (1/d)Σᵢ‖xᵢ − D(zᵢ)‖² of the energy as an operator on codes, for a
 * batch x and a decoder frozen during inference. Whatever depends only on x and the weights is
 * computed once here instead of at every inference step.
 */
export interface ReconstructionTerm {
  /** ∂/∂z of the reconstruction term. */
  readonly gradient: (z: tf.Tensor2D) => tf.Tensor2D
  /**
   * The same gradient for a subset of the batch's rows (FISTA's live rows): y holds
   * rows.length × l values, row p being row rows[p] of the batch. Returns rows.length × l values,
   * which the next call may overwrite.
   */
  readonly gradientRows: (y: Float32Array, rows: Int32Array) => Float32Array
  /**
   * gradientRows without its last pass, where the gradient is c·(P − T[rows[p]]) rounded to
   * float32: writes the product P of the live rows into `product` and answers T (N×l) and c, so
   * that inference folds that pass into its own. Optional; gradientRows is the reference.
   */
  readonly gradientInParts?: (y: Float32Array, rows: Int32Array, product: Float32Array) => GradientParts
  /**
   * The Lipschitz constant of the gradient, for the step 1/L: exact for a linear decoder, an
   * upper bound for dense stacks, an estimate for decoders on the generic path.
   */
  readonly lipschitz: () => number
  readonly dispose: () => void
}

/** The reconstruction, the first hidden activations and the gradient of mean((x − D(z))²) for every parameter. */
export interface LossGradients {
  readonly reconstruction: tf.Tensor2D
  readonly hidden: tf.Tensor2D | null
  readonly grads: Readonly<Record<string, tf.Tensor>>
}

/** Atoms as images: `count` rows of outputDim values. */
export interface AtomImages {
  readonly images: Float32Array
  readonly count: number
}

/** A decoder made for a model: its variables and every map the model, inference and reports use. */
export interface Decoder {
  /** The registry name of its kind. */
  readonly kind: string
  readonly geometry: DecoderGeometry
  readonly codeDim: number
  readonly outputDim: number
  /** The products of its gradients and of inference. */
  readonly linalg: Linalg
  /** Every parameter by name, in the order of its kind's list. */
  readonly params: Readonly<Record<string, tf.Variable>>
  readonly roles: Readonly<Record<string, ParameterRole>>
  /** D(z) and the first hidden activations. Must run inside a tidy. */
  readonly trace: (z: tf.Tensor2D) => DecoderTrace
  /** D(z), owned by the caller. */
  readonly decode: (z: tf.Tensor2D) => tf.Tensor2D
  /** The reconstruction term of a batch x, for inference with the decoder frozen. */
  readonly reconstructionTerm: (x: tf.Tensor2D) => ReconstructionTerm
  /** Must run inside a tidy. */
  readonly lossGradients: (z: tf.Tensor2D, x: tf.Tensor2D) => LossGradients
  /** decoder-columns.png: the rows of a linear map's weight, else D(eⱼ) − D(0). */
  readonly columns: () => AtomImages
  /** D(cⱼeⱼ) − D(0) for each code component j, cⱼ = scale[j]; null where they are the columns (a linear map). */
  readonly atoms: (scale: Float32Array) => AtomImages | null
  /** ℓ2 norm of the atom each code component multiplies, for monitoring collapse. */
  readonly atomNorms: () => Float32Array
  readonly dispose: () => void
}

/** What a kind may compute itself rather than through the generic path; `d` is the decoder being made. */
export interface FastPaths {
  readonly trace?: Decoder["trace"]
  readonly decode?: Decoder["decode"]
  readonly reconstructionTerm?: Decoder["reconstructionTerm"]
  readonly lossGradients?: Decoder["lossGradients"]
  readonly columns?: Decoder["columns"]
  readonly atoms?: Decoder["atoms"]
  readonly atomNorms?: Decoder["atomNorms"]
}

/** A decoder module. N is its registry name. */
export interface DecoderKind<N extends string = string> {
  readonly name: N
  readonly description: string
  /** Why these settings do not suit this decoder (naming the setting to change), or null. */
  readonly problem: (s: DecoderSettings) => { readonly field: keyof DecoderSettings; readonly problem: string } | null
  /** Why the images do not suit it, or null; by default any shape does. */
  readonly geometryProblem?: (s: DecoderSettings, g: DecoderGeometry) => string | null
  /** The parameters' roles by name, known from the settings alone (for the update transforms). */
  readonly roles: (s: DecoderSettings) => Readonly<Record<string, ParameterRole>>
  readonly parameters: (s: DecoderSettings, g: DecoderGeometry) => ReadonlyArray<ParameterSpec>
  /**
   * D(z) from parameter tensors by name, with plain differentiable tfjs operations: what the
   * generic path differentiates. Must run inside a tidy.
   */
  readonly forward: (
    params: Readonly<Record<string, tf.Tensor>>,
    z: tf.Tensor2D,
    s: DecoderSettings,
    g: DecoderGeometry
  ) => DecoderTrace
  /** Faster maps than the generic ones, for the decoder `d` (its variables made). */
  readonly fast?: (d: Decoder, s: DecoderSettings) => FastPaths
  /**
   * Whether the optimizers may write its parameters in their own storage (Linalg's inPlace): only
   * where matrix products are all that read them. A backend may cache other kernels' weights in
   * a packed form by tensor (the wasm backend's convolutions do), and a write in place would leave
   * that copy stale. Absent: the optimizers make new tensors.
   */
  readonly updatesInPlace?: boolean
  /** Its parameters (host tensors by name) in PyTorch's layout, or why it has none. */
  readonly torch: (s: DecoderSettings, params: Readonly<Record<string, HostTensor>>) => TorchLayout
}

/** Keeps a kind's name as a literal type, so that settings can list the names. */
export const decoderKind = <N extends string>(kind: DecoderKind<N>): DecoderKind<N> => kind

/** The shapes of a kind's parameters by name, without making them (checkpoints check these first). */
export const parameterShapes = (kind: DecoderKind, s: DecoderSettings, g: DecoderGeometry): Record<string, number[]> =>
  Object.fromEntries(kind.parameters(s, g).map((p) => [p.name, [...p.shape]]))

/** A decoder of a kind: its variables drawn in the order of its parameter list, and the generic path wherever the kind has no faster one. */
export const makeDecoder = (
  kind: DecoderKind,
  s: DecoderSettings,
  g: DecoderGeometry,
  rng: UniformSource,
  linalg: Linalg
): Decoder => {
  const specs = kind.parameters(s, g)
  const params: Record<string, tf.Variable> = {}
  const roles: Record<string, ParameterRole> = {}
  for (const p of specs) {
    params[p.name] = variableOf(p.init(rng))
    roles[p.name] = p.role
  }
  const forward = (ps: Readonly<Record<string, tf.Tensor>>, z: tf.Tensor2D) => kind.forward(ps, z, s, g)
  const decodeRows = (z: tf.Tensor2D) => forward(params, z).output
  const unitAtoms = () => differenceAtoms(decodeRows, g.codeDim, new Float32Array(g.codeDim).fill(1))
  const generic: Decoder = {
    kind: kind.name,
    geometry: g,
    codeDim: g.codeDim,
    outputDim: g.outputDim,
    linalg,
    params,
    roles,
    trace: (z) => forward(params, z),
    decode: (z) => tf.tidy(() => decodeRows(z)),
    reconstructionTerm: (x) => autodiffReconstructionTerm(decodeRows, x, g.codeDim),
    lossGradients: (z, x) => autodiffLossGradients(forward, params, z, x),
    columns: unitAtoms,
    atoms: (scale) => differenceAtoms(decodeRows, g.codeDim, scale),
    atomNorms: () => {
      const unit = unitAtoms()
      return rowNormsOf(unit.images, unit.count)
    },
    dispose: () => {
      for (const v of Object.values(params)) v.dispose()
    }
  }
  return kind.fast === undefined ? generic : { ...generic, ...kind.fast(generic, s) }
}
