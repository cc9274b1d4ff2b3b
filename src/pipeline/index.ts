/**
 * `sparse-vdl/pipeline`: the models and the data put together as Effect programs. Data sets and
 * their splits, the training loop and whole runs, evaluations, checkpoints and run folders, a
 * trained model put to use, and the services they run on (`Backend`, `Progress`).
 *
 * One export line per module, grouped by the folder it lives in: a new source, evaluation or
 * service adds its line beside its kind's. What only the command line needs (the job queue, the
 * paper's plan, HTML reports) is not here, so importing this module loads none of its packages.
 *
 * @packageDocumentation
 */

// Settings

/** A preset's settings with overrides applied and checked; fails with a SettingsError naming the setting. */
export { resolveSettings, decodeOverrides, settingsConflict } from "./train/config.js"

// Data sets (sources/, patches/)

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
} from "./sources/dataset.js"
/** MNIST from a folder of IDX files, a checked download or the embedded digits; its split and normalisation. */
export { loadMnist, splitStage, normalizeMnistStage, type MnistSource } from "./sources/mnist.js"
/** Rows of pixels from an Arrow file's vector column or a folder of images, as seeded, normalised splits. */
export {
  ownDataSplits,
  arrowRows,
  imageFolderRows,
  type PixelRows,
  type OwnSplitOptions
} from "./sources/own-data.js"
export { OwnDataError } from "./sources/own-data-error.js"
export { normalizationModes, type NormalizationMode } from "./choices.js"
/** The data sources by name (mnist, patches, images, arrow, labelled-images): what each reads, its shape, normalisation, labels and preset family. */
export {
  dataSources,
  sourceNames,
  dataSource,
  loadSource,
  requestProblem,
  type SourceName,
  type SourceLoadError
} from "./sources/registry.js"
export {
  SourceRequest,
  RecordedSource,
  type DataSource,
  type LoadedSource,
  type ShapeDeclaration,
  type NormalizationDeclaration,
  type RequestField
} from "./sources/source.js"
/** The checks every entry makes of its input (non-finite values, pixel range, split widths, rows per batch, backend names). */
export {
  InputError,
  nonFiniteProblem,
  pixelRangeProblem,
  widthProblem,
  batchProblem,
  backendProblem,
  firstInputError,
  type InputProblem
} from "./sources/checks.js"
/** The input space a checkpoint records: image shape and the normalisation from pixels to model inputs. */
export { Normalization, InputSpace, pixelsToInputSpace, pixelShapeOf } from "./sources/normalization.js"
export { mnistNormalization } from "./sources/mnist-normalization.js"
/** A patch file read as train, validation and test data sets. */
export { loadPatchSplits, patchSplits, patchDataset } from "./patches/datasets.js"
/** A patch file read from disk record batch by record batch, for sets too large to hold whole. */
export { openStreamedPatchFile, windowedOrder, type StreamedPatchFile, type StreamedSplit } from "./patches/streamed.js"
/** Data sets that cannot be made from a patch file. */
export { PatchDataError } from "./patches/errors.js"

// Training (train/)

/** The generator of a seed for one use (split, init, order, noise). */
export { rngFor, type SeedUse } from "./train/seeds.js"
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
} from "./train/loop.js"
/** λ chosen for a target fraction of zero codes by a short search on the training rows. */
export {
  searchLambda,
  settingsForTarget,
  type LambdaSearch,
  type LambdaSearchOptions,
  type LambdaTry
} from "./train/target-sparsity.js"
/** A whole run: the loop, then the best epoch evaluated, pictures and summary.json in the run folder. */
export { trainRun, type RunOptions, type RunSummary } from "./train/run.js"
/** Where a stopped run stands, read from its last.safetensors, for LoopOptions.resume. */
export { readResumePoint, type ResumePoint, type Best } from "./train/resume.js"
/** One epoch of training, and the evaluation of a model on a data set with the encoder's codes. */
export {
  trainEpoch,
  evaluate,
  type EpochOptions,
  type EpochCursor,
  type BatchStep,
  type EpochResult
} from "./train/epoch.js"
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
} from "./train/checkpoint.js"
/** Progress of long work: bars on a terminal, log lines elsewhere, or nothing. */
export { Progress, ProgressLive, ProgressSilent, type ProgressBar, type ProgressService } from "./train/progress.js"

// Evaluation (evaluation/)

/** Denoising: Gaussian noise at several levels, reconstructions from encoder and FISTA codes, PSNR. */
export {
  denoiseModel,
  standardNoise,
  addNoise,
  meanPsnr,
  type DenoiseSettings,
  type DenoiseResult,
  type DenoiseLevel,
  type DenoiseExamples
} from "./evaluation/denoise.js"
/** Codes of the encoder and of FISTA warm-started from them, for a batch or a whole array of rows. */
export { batchCodes, inferCodes, codeKinds, type CodeKind, type BatchCodes, type Codes } from "./evaluation/codes.js"
export { compareInference, type InferenceSteps } from "./evaluation/inference-steps.js"
/** Low-data classification: examples per class, repeats, and a probe trained on features. */
export {
  selectExamples,
  runSeries,
  spread,
  type ClassifyPlan,
  type Features,
  type Labels,
  type Series,
  type Selection,
  type ProbeOutcome
} from "./evaluation/classify.js"
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
} from "./evaluation/run-folder.js"
/** A run folder that cannot be read, or an evaluation that cannot run. */
export { RunFolderReadError, EvaluationError } from "./evaluation/errors.js"

// Using a trained model (use/)

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
} from "./use/loaded-model.js"
/** fit / transform / inverseTransform / score / partialFit / save: the estimator shape scikit-learn users know. */
export { fit, type FitOptions, type FitReport, type FittedModel, type FitEpoch } from "./use/estimator.js"
/** Rows as a Float32Array, an array of arrays or an Arrow table. */
export { flatRows, type Rows, type FlatRows } from "./use/rows.js"
/** A model that cannot be loaded, or input it cannot take, or cannot be exported. */
export { LoadModelError, ModelInputError, TorchExportError } from "./use/errors.js"
/** A trained model in PyTorch's layout (each nn.Linear weight out × in, the transpose of ours). */
export { exportTorch, torchTensors } from "./use/torch-export.js"

// Services (backend/) and logging

/** The compute backend as an Effect service: the fastest tfjs backend that loads, with its matrix products. */
export {
  Backend,
  BackendLive,
  selectBackend,
  backendNames,
  type BackendInfo,
  type BackendName
} from "./backend/backend.js"
/** A model released with the scope, and a batch as a tensor released after use. */
export { scopedModel, withBatchTensor } from "./backend/resources.js"
/** The BLAS named by SPARSE_VDL_BLAS could not be loaded. */
export { NativeBlasError } from "./backend/native-matmul.js"
/** Plain "[hh:mm:ss] message" log lines on stderr. */
export { plainLogger } from "./logging.js"
/** The pipeline's typed errors: each message names the thing at fault and the fix. */
export {
  BackendError,
  SettingsError,
  ConfigError,
  DivergenceError,
  ResumeError,
  CheckpointError,
  MetricsFileError,
  RunFolderTakenError,
  type PipelineError
} from "./errors.js"
