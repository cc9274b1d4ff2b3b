/**
 * `sparse-vdl/models`: the mathematics on tensors. Settings and variants, energy terms, inference
 * methods, update transforms, the model and its step, probes and metrics; plain synchronous
 * functions that read no file and need no service.
 *
 * One export line per module, grouped as src/models is: a new term, inference method, decoder or
 * transform adds its line beside its kind's. The kernels (src/models/inference/kernels, the fused
 * inference pass) and the matrix-product plumbing behind {@link Linalg} are internal.
 *
 * @packageDocumentation
 */

// Settings and variants

/** The Schema of a model's settings: its type, validation and checkpoint form. */
export {
  ModelSettings,
  SettingsOverrides,
  type SettingName,
  settingDocs,
  settingNames,
  decodeSettings,
  StoredSettings
} from "./settings.js"
/** The documentation beside each setting: its help text, command-line flag and kind of value. */
export type { SettingDoc, SettingDocs } from "./setting-docs.js"
/** The paper's variants (sdl, vdl, sdl-nl, vdl-nl, wdl, wdl-nl, noreg), each with its MNIST and patch presets. */
export {
  variants,
  variantNames,
  variantOf,
  isVariantName,
  presetFor,
  DEFAULT_PRESET_FAMILY,
  type VariantName,
  type Variant,
  type Presets,
  type PresetFamily,
  type DataKind
} from "./variants.js"
/** Every error the models layer defines. */
export { SettingsError, type ModelsError } from "./errors.js"

// What a model is made of

/** The parts a training step uses, built from the settings: energy terms, inference method, update chains. */
export {
  compositionOf,
  compositionNames,
  compositionDifference,
  type Composition,
  type CompositionNames
} from "./composition.js"

// Energy terms on the codes

/** An energy term on the codes, and the helper that declares one with its settings fields. */
export {
  termKind,
  columnMoments,
  type CodeTerm,
  type TermKind,
  type HostGradient,
  type AffineCoefficients,
  type ColumnMoments
} from "./terms/term.js"
/** Every registered code term, in the order their settings appear. */
export { codeTermKinds, codeTermsOf } from "./terms/registry.js"
/** The variance hinge on each code component's batch standard deviation (β, τ). */
export { varianceHinge } from "./terms/variance-hinge.js"
/** The distance of the codes to the encoder's (γ). */
export { encoderDistance } from "./terms/encoder-distance.js"
/** VICReg's penalty on the off-diagonal batch covariance of the codes (ν). */
export { covariance } from "./terms/covariance.js"
/** λ‖z‖₁ and its non-negative proximal step. */
export { sparsity, nonNegativeShrink } from "./terms/sparsity.js"

// Inference methods

/** The inference methods by name: fista, ista, fista-restart and fista-adaptive. */
export { inferenceMethods, inferenceNames, inferenceByName, type InferenceName } from "./inference/registry.js"
/** An inference method, and the helper that declares one. */
export {
  inferenceMethod,
  type InferenceMethod,
  type InferenceOptions,
  type InferenceResult,
  type InferenceStepInfo,
  type StepRule
} from "./inference/method.js"
/** FISTA, the paper's inference. */
export { fista } from "./inference/fista.js"
/** ISTA: proximal gradient without momentum, monotone. */
export { ista } from "./inference/ista.js"
/** FISTA with adaptive restart per row (O'Donoghue & Candès). */
export { fistaRestart } from "./inference/fista-restart.js"
/** FISTA with restart and a step per row fitted to its local curvature. */
export { fistaAdaptive } from "./inference/fista-adaptive.js"

// Optimisers: transforms that own their state, chained by name (optax's init/update pairs)

/** A chain of named transforms, what a checkpoint stores of it, and one update with it. */
export {
  makeOptimizer,
  optimizerStep,
  disposeOptimizer,
  optimizerTensors,
  optimizerScalars,
  restoreScalars,
  chainLayout,
  type Optimizer
} from "./optimisers/chain.js"
/** A transform: init(params) → state, update(updates, state, params) → (updates, state). */
export {
  masked,
  applyUpdates,
  zeroState,
  noState,
  shapesOf,
  type Shapes,
  type Transform,
  type TransformState,
  type StateLayout,
  type UpdateContext,
  type UpdateResult,
  type Gradients,
  type Parameters,
  type Selector
} from "./optimisers/transform.js"
/** The optimisers by name, and the settings' choice of one. */
export { optimizerKinds, optimizerNames, optimizerOf, type OptimizerName } from "./optimisers/registry.js"
export { optimizerKind, type OptimizerKind } from "./optimisers/kind.js"
export { adam, adamDefaults, type AdamSettings } from "./optimisers/adam.js"
export { sgd, type SgdSettings } from "./optimisers/sgd.js"
export { adamw } from "./optimisers/adamw.js"
/** Coupled weight decay, the learning-rate halving schedule, the unit-norm projection of atoms. */
export { weightDecay } from "./optimisers/weight-decay.js"
export { lrHalving } from "./optimisers/lr-halving.js"
export { unitNorm } from "./optimisers/unit-norm.js"

// The model

/** A sparse coding model (decoder, LISTA encoder, optimiser states), its step, its evaluation and inference. */
export {
  makeModel,
  disposeModel,
  modelTensors,
  trainStep,
  evaluateBatch,
  runInference,
  averageTotals,
  type SparseCodingModel,
  type ModelOptions,
  type BatchTotals,
  type SplitMetrics
} from "./model.js"
/** The matrix products the maths runs on: tfjs's own, or a native BLAS the pipeline's backend supplies. */
export {
  tfjsLinalg,
  type AdamStep,
  type Elementwise,
  type EntryCounts,
  type Linalg,
  type HostGemm,
  type InPlace
} from "./linalg.js"
// Decoders: one module each behind one interface, chosen by name from a registry

/** The decoder interface: named parameters, forward map, the reconstruction term inference uses, gradients, atoms, export names. */
export {
  decoderKind,
  makeDecoder,
  geometryOf,
  parameterShapes,
  type Decoder,
  type DecoderKind,
  type DecoderSettings,
  type DecoderGeometry,
  type DecoderTrace,
  type ParameterSpec,
  type ParameterRole,
  type HostTensor,
  type TorchLayout,
  type ReconstructionTerm,
  type GradientParts,
  type LossGradients,
  type AtomImages,
  type FastPaths
} from "./decoders/decoder.js"
/** The registered decoders (linear, mlp, conv) and the settings' choice of one. */
export { decoderKinds, decoderNames, decoderChoices, decoderKindOf, type DecoderName } from "./decoders/registry.js"
export { linear } from "./decoders/linear.js"
export { mlp } from "./decoders/mlp.js"
export { conv } from "./decoders/conv.js"
/** The multi-layer decoder's activations. */
export { activations, activationNames, type Activation, type ActivationName } from "./decoders/activations.js"
/** What a decoder of one's own gets by default: TensorFlow.js autodiff for its term, gradients and atoms. */
export { autodiffReconstructionTerm, autodiffLossGradients, differenceAtoms } from "./decoders/generic.js"
export { registerMissingGradients } from "./decoders/gradients.js"
/** A dense decoder's layer (weights stored input × output). */
export type { DecoderLayer } from "./decoders/dense.js"
/** The LISTA encoder. */
export type { Lista } from "./encoder.js"
/** The energy a model's inference minimises: λ and the code terms. */
export { energyOf, type Energy } from "./energy.js"
/** A source of uniform numbers for initialisation. */
export type { UniformSource } from "./rng.js"

// Measurements and probes

/** The ℓ2 norm of each code component's atom (a row of the decoder's first weight), whose growth is the collapse the regularisers prevent. */
export { codeAtomNorms } from "./norms.js"
/** PSNR per image in pixel space, and the affine map back to pixels. */
export { psnrPerImage, affineToPixels, type PixelSpace, type ToPixels } from "./metrics.js"
/** The probes classification trains: a linear layer, or a LISTA with one. */
export { linearProbe, listaProbe, type Probe } from "./classifier.js"
