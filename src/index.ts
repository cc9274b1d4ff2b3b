/**
 * sparse-vdl: sparse coding with variance-regularised codes (Evtimova & LeCun, TMLR 2022) on
 * TensorFlow.js and Effect, as a library.
 *
 * Effect first: data sets, settings, the training loop and its hooks, evaluation and checkpoints
 * are values and Effects that compose into a pipeline, run with the {@link BackendLive} and a
 * {@link Progress} layer. Without Effect, `sparse-vdl/promise` has `await train(...)`.
 *
 * Importing this module loads neither the command line nor the packages only it needs.
 * Weights are stored input × output (a decoder layer's `W` is `[in, out]`, the transpose of
 * PyTorch's `nn.Linear.weight`).
 *
 * @packageDocumentation
 */

// Settings and variants

/** The Schema of a model's settings: its type, validation and checkpoint form. */
export { ModelSettings, SettingsOverrides, type SettingName, settingDocs, settingNames, decodeSettings, StoredSettings } from "./models/settings.js"
/** The documentation beside each setting: its help text, command-line flag and kind of value. */
export type { SettingDoc, SettingDocs } from "./models/setting-docs.js"
/** A preset's settings with overrides applied and checked; fails with a SettingsError naming the setting. */
export { resolveSettings, decodeOverrides, settingsConflict } from "./pipeline/train/config.js"
/** The paper's variants (sdl, vdl, sdl-nl, vdl-nl, wdl, wdl-nl, noreg), each with its MNIST and patch presets. */
export { variants, variantNames, type Variant, type DataKind } from "./models/variants.js"

// What a model is made of

/** The parts a training step uses, built from the settings: energy terms, inference method, update chains. */
export { compositionOf, compositionNames, compositionDifference, type Composition, type CompositionNames } from "./models/composition.js"
/** An energy term on the codes, and the helper that declares one with its settings fields. */
export { termKind, columnMoments, type CodeTerm, type TermKind, type HostGradient, type AffineCoefficients, type ColumnMoments } from "./models/terms/term.js"
/** Every registered code term, in the order their settings appear. */
export { codeTermKinds, codeTermsOf } from "./models/terms/registry.js"
/** The variance hinge on each code component's batch standard deviation (β, τ). */
export { varianceHinge } from "./models/terms/variance-hinge.js"
/** The distance of the codes to the encoder's (γ). */
export { encoderDistance } from "./models/terms/encoder-distance.js"
/** VICReg's penalty on the off-diagonal batch covariance of the codes (ν). */
export { covariance } from "./models/terms/covariance.js"
/** λ‖z‖₁ and its non-negative proximal step. */
export { sparsity, nonNegativeShrink } from "./models/terms/sparsity.js"
/** The inference methods by name: fista, ista, fista-restart and fista-adaptive. */
export { inferenceMethods, inferenceNames, inferenceByName, type InferenceName } from "./models/inference/registry.js"
/** An inference method, and the helper that declares one. */
export { inferenceMethod, type InferenceMethod, type InferenceOptions, type InferenceResult, type InferenceStepInfo, type StepRule } from "./models/inference/method.js"
export type { FusedPass } from "./models/inference/fused-step.js"
/** FISTA, the paper's inference. */
export { fista } from "./models/inference/fista.js"
/** ISTA: proximal gradient without momentum, monotone. */
export { ista } from "./models/inference/ista.js"
/** FISTA with adaptive restart per row (O'Donoghue & Candès). */
export { fistaRestart } from "./models/inference/fista-restart.js"
/** FISTA with restart and a step per row fitted to its local curvature. */
export { fistaAdaptive } from "./models/inference/fista-adaptive.js"
/** Runs a chain of update transforms on a set of gradients. */
export { applyChain } from "./models/transforms/chain.js"
/** An update transform: one step of a parameter update chain. */
export type { UpdateTransform, UpdateContext, Gradients, Parameters, Selector } from "./models/transforms/transform.js"
/** Adam as an update transform, and its state. */
export { adam, makeAdam, disposeAdam, adamDefaults, type Adam, type AdamSettings } from "./models/transforms/adam.js"
/** Weight decay on the selected parameters. */
export { weightDecay } from "./models/transforms/weight-decay.js"
/** Halves the learning rate every given number of epochs. */
export { lrHalving } from "./models/transforms/lr-halving.js"
/** Projects the selected parameters' columns onto the unit sphere after each update. */
export { unitNorm } from "./models/transforms/unit-norm.js"

// Models

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
} from "./models/model.js"
/** Matrix products and in-place updates the maths runs on: tfjs's own, or a native BLAS. */
export { tfjsLinalg, type Linalg, type HostGemm, type InPlace } from "./models/linalg.js"
/** The decoder (layers of weights stored input × output) and its reconstruction term. */
export type { Decoder, GradientParts, ReconstructionTerm } from "./models/decoders/decoder.js"
export type { DecoderLayer } from "./models/decoders/dense.js"
/** The LISTA encoder. */
export type { Lista } from "./models/encoder.js"
/** The energy a model's inference minimises: λ and the code terms. */
export { energyOf, type Energy } from "./models/energy.js"
/** A source of uniform numbers for initialisation, and the seeded generator the pipeline derives from a seed. */
export type { UniformSource } from "./models/rng.js"
/** The generator of a seed for one use (split, init, order, noise). */
export { rngFor, type SeedUse } from "./pipeline/train/seeds.js"
/** A seeded generator whose state can be saved and restored. */
export type { Rng } from "./data/random.js"
/** The ℓ2 norm of each code component's atom (a row of the decoder's first weight), whose growth is the collapse the regularisers prevent. */
export { codeAtomNorms } from "./models/norms.js"
/** PSNR per image in pixel space, and the affine map back to pixels. */
export { psnrPerImage, affineToPixels, type ToPixels } from "./models/metrics.js"

// Data sets

/** A data set in the model's input space with its map back to pixels; splits, batches and rows of one's own. */
export {
  datasetFromRows,
  datasetFromGather,
  epochOrder,
  rowsAt,
  type GatherRows,
  type EpochOrder,
  mapSplits,
  firstRows,
  batchStream,
  batchCount,
  dataSummary,
  type Dataset,
  type RowsOptions,
  type Batch,
  type Splits
} from "./pipeline/sources/dataset.js"
/** MNIST from a folder of IDX files, a checked download or the embedded digits; its split and normalisation. */
export { loadMnist, splitStage, normalizeMnistStage, type MnistSource } from "./pipeline/sources/mnist.js"
/** MNIST as loaded: pixels 0..255 and labels of each split. */
export type { MnistData, MnistSplit } from "./data/mnist/data.js"
/** A patch file (experiments/patches.ts build) read as train, validation and test data sets. */
export { loadPatchSplits, patchSplits, patchDataset } from "./pipeline/patches/datasets.js"
/** A patch file read from disk record batch by record batch, for sets too large to hold whole. */
export { openStreamedPatchFile, windowedOrder, type StreamedPatchFile, type StreamedSplit } from "./pipeline/patches/streamed.js"
/** The reader of a patch file and its contents. */
export { readPatchFile, type PatchFile, type PatchSplit, type SplitName } from "./data/patch-file.js"

// Training

/** The training loop: model, seeded order, validation, hooks, and with a folder, metrics, checkpoints and resume. */
export {
  trainingLoop,
  type TrainingHooks,
  type LoopOptions,
  type LoopData,
  type LoopResult,
  type LoopStart,
  type BatchEvent,
  type EpochEvent,
  type EpochColumns
} from "./pipeline/train/loop.js"
/** A whole run: the loop, then the best epoch evaluated, pictures and summary.json in the run folder. */
export { trainRun, type RunOptions, type RunSummary } from "./pipeline/train/run.js"
/** Where a stopped run stands, read from its last.safetensors, for LoopOptions.resume. */
export { readResumePoint, type ResumePoint, type Best } from "./pipeline/train/resume.js"
/** One row of metrics.arrow or of an evaluation table. */
export type { Row } from "./data/table.js"
/** One epoch of training, and the evaluation of a model on a data set with the encoder's codes. */
export { trainEpoch, evaluate, type EpochOptions, type EpochCursor, type BatchStep, type EpochResult } from "./pipeline/train/epoch.js"
/** A model released with the scope, and a batch as a tensor released after use. */
export { scopedModel, withBatchTensor } from "./pipeline/backend/resources.js"

// Evaluation

/** Denoising: Gaussian noise at several levels, reconstructions from encoder and FISTA codes, PSNR. */
export { denoiseModel, standardNoise, addNoise, meanPsnr, type DenoiseSettings, type DenoiseResult, type DenoiseLevel, type DenoiseExamples } from "./pipeline/evaluation/denoise.js"
/** Codes of the encoder and of FISTA warm-started from them, for a batch or a whole array of rows. */
export { batchCodes, inferCodes, codeKinds, type CodeKind, type BatchCodes, type Codes } from "./pipeline/evaluation/codes.js"
/** Low-data classification: examples per class, repeats, and a probe trained on features. */
export { selectExamples, runSeries, spread, type ClassifyPlan, type Features, type Labels, type Series, type Selection, type ProbeOutcome } from "./pipeline/evaluation/classify.js"
/** The probes classification trains: a linear layer, or a LISTA with one. */
export { linearProbe, listaProbe, type Probe } from "./models/classifier.js"
/** A trained run folder (summary.json and checkpoint), its model and its data. */
export {
  readRunFolder,
  readRunFolders,
  runModel,
  loadRunsData,
  type RunFolder,
  type DataOptions,
  type DataRecipe,
  type DataResolver,
  type DataLoadError
} from "./pipeline/evaluation/run-folder.js"

// Using a trained model

/**
 * A trained model from a run folder or a checkpoint, as a scoped resource: encode, infer,
 * reconstruct and denoise rows of pixels or image files, the stored normalisation applied and undone.
 */
export {
  loadModel,
  useModel,
  type LoadedModel,
  type LoadOptions,
  type CodeSource,
  type ReconstructOptions,
  type DenoiseOptions,
  type Denoised
} from "./pipeline/use/loaded-model.js"
/** A model that cannot be loaded, or input it cannot take. */
export { LoadModelError, ModelInputError } from "./pipeline/use/errors.js"
/** The input space a checkpoint records: image shape and the normalisation from pixels to model inputs. */
export { Normalization, InputSpace, mnistNormalization, normalizeRows, pixelShapeOf } from "./pipeline/sources/normalization.js"
/** A trained model in PyTorch's layout (each nn.Linear weight out × in, the transpose of ours). */
export { exportTorch, torchTensors } from "./pipeline/use/torch-export.js"

// Data of one's own

/** Rows of pixels from an Arrow file's vector column or a folder of images, as seeded, normalised splits. */
export { ownDataSplits, arrowRows, imageFolderRows, normalizationModes, OwnDataError, type PixelRows, type OwnSplitOptions, type NormalizationMode } from "./pipeline/sources/own-data.js"
/** Arrow IPC files of vectors: read a FixedSizeList<Float32> column; write codes as one. */
export { readVectorFile, codeTableToArrowIpc, VectorFileError, type VectorFile, type RowNames } from "./data/vector-file.js"
/** Image files as grey pixel rows of a given shape. */
export { readImageRows, readGrayPixels, expandImagePaths, type ImageShape } from "./data/image-rows.js"

// Checkpoints

/** Checkpoints in safetensors: a model's snapshot, written atomically, read back and restored into a model. */
export {
  snapshotModel,
  writeCheckpoint,
  readCheckpoint,
  restoreSnapshot,
  encodeSnapshot,
  decodeCheckpoint,
  checkpointFormat,
  type Snapshot,
  type RunProgress
} from "./pipeline/train/checkpoint.js"
/** A named array of a safetensors file. */
export type { NamedArray } from "./data/safetensors.js"

// Layers

/** The compute backend as an Effect service: the fastest tfjs backend that loads, with its matrix products. */
export { Backend, BackendLive, selectBackend, backendNames, type BackendInfo, type BackendName } from "./pipeline/backend/backend.js"
/** Progress of long work: bars on a terminal, log lines elsewhere, or nothing. */
export { Progress, ProgressLive, ProgressSilent, type ProgressBar, type ProgressService } from "./pipeline/train/progress.js"
/** Plain "[hh:mm:ss] message" log lines on stderr. */
export { plainLogger } from "./pipeline/logging.js"

// Errors

/** The pipeline's typed errors: each message names the thing at fault and the fix. */
export { BackendError, SettingsError, ConfigError, DivergenceError, ResumeError, CheckpointError, MetricsFileError } from "./pipeline/errors.js"
/** The BLAS named by SPARSE_VDL_BLAS could not be loaded. */
export { NativeBlasError } from "./pipeline/backend/native-matmul.js"
/** Data that cannot be read: a missing source, a malformed IDX file, a failed checksum. */
export { DataSourceError, IdxFormatError, ChecksumError } from "./data/errors.js"
/** A file that could not be written. */
export { WriteError } from "./data/write-error.js"
/** A patch file that cannot be read, or data sets that cannot be made from it. */
export { PatchFileError } from "./data/patch-file.js"
export { PatchDataError } from "./pipeline/patches/errors.js"
/** A run folder that cannot be read, or an evaluation that cannot run. */
export { RunFolderReadError, EvaluationError } from "./pipeline/evaluation/errors.js"
