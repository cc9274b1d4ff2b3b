/**
 * sparse-vdl: sparse coding with variance-regularised codes (Evtimova & LeCun, TMLR 2022) on
 * TensorFlow.js and Effect, as a library.
 *
 * The root holds what a first program needs: the variants and their settings, data sets from
 * rows, MNIST or files of one's own, the training loop, evaluation, a trained model put to use,
 * and the layers they run on ({@link BackendLive}, a {@link Progress} layer, {@link plainLogger}).
 * The rest is by area:
 * - `sparse-vdl/models`: the mathematics on tensors (terms, inference methods, update transforms, the model and its step);
 * - `sparse-vdl/data`: files and formats (patch files, Arrow vectors, image files, safetensors);
 * - `sparse-vdl/pipeline`: everything the pipeline offers (checkpoints, run folders, denoising, classification, the Torch export);
 * - `sparse-vdl/promise`: `await train(...)` and `await loadModel(...)` without Effect.
 *
 * Importing this module loads neither the command line nor the packages only it needs.
 * Weights are stored input × output (a decoder layer's `W` is `[in, out]`, the transpose of
 * PyTorch's `nn.Linear.weight`).
 *
 * @packageDocumentation
 */

// Settings and variants
export {
  ModelSettings,
  SettingsOverrides,
  type SettingName,
  settingDocs,
  settingNames,
  decodeSettings,
  type SettingDoc,
  variants,
  variantNames,
  type VariantName,
  type Variant,
  type DataKind,
  type SparseCodingModel,
  type SplitMetrics
} from "./models/index.js"
export { resolveSettings } from "./pipeline/index.js"

// Data sets
export {
  datasetFromRows,
  mapSplits,
  firstRows,
  type Dataset,
  type Splits,
  type Batch,
  loadMnist,
  splitStage,
  normalizeMnistStage,
  type MnistSource,
  ownDataSplits,
  arrowRows,
  imageFolderRows,
  type PixelRows,
  type OwnSplitOptions,
  type NormalizationMode
} from "./pipeline/index.js"

// Training and evaluation
export {
  rngFor,
  type SeedUse,
  trainingLoop,
  type TrainingHooks,
  type LoopOptions,
  type LoopData,
  type LoopResult,
  type BatchEvent,
  type EpochEvent,
  trainRun,
  type RunOptions,
  type RunSummary,
  evaluate
} from "./pipeline/index.js"

// Using a trained model
export {
  loadModel,
  useModel,
  type LoadedModel,
  type LoadOptions,
  type CodeSource,
  type ReconstructOptions,
  type DenoiseOptions,
  type Denoised
} from "./pipeline/index.js"

// The estimator: fit, then transform / inverseTransform / score / partialFit / save
export { fit, type FitOptions, type FitReport, type FittedModel, type FitEpoch, type Rows } from "./pipeline/index.js"

// Layers
export {
  Backend,
  BackendLive,
  type BackendInfo,
  type BackendName,
  Progress,
  ProgressLive,
  ProgressSilent,
  plainLogger
} from "./pipeline/index.js"

// The errors a first program meets: each message names the thing at fault and the fix.
export {
  BackendError,
  SettingsError,
  ConfigError,
  DivergenceError,
  LoadModelError,
  ModelInputError,
  OwnDataError,
  InputError,
  RunFolderTakenError,
  type PipelineError
} from "./pipeline/index.js"
export { DataSourceError, WriteError, type DataError } from "./data/index.js"
export type { ModelsError } from "./models/index.js"
