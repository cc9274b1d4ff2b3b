/**
 * The values of the library's enumerated options, in a module that imports nothing: a command
 * line offers them in its --help without loading TensorFlow.js, Arrow or the job queue. Each is
 * re-exported by the module that acts on it.
 */

/** The compute backends in order of preference: the fastest that loads wins (backend/backend.ts). */
export const backendNames = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const
export type BackendName = (typeof backendNames)[number]

/** How rows of one's own data are normalised (sources/own-data.ts). */
export const normalizationModes = ["global", "per-feature", "none"] as const
export type NormalizationMode = (typeof normalizationModes)[number]

/** The level low local scales of a patch are raised to (patches/build.ts). */
export const scaleFloorModes = ["data", "patch"] as const
export type ScaleFloorMode = (typeof scaleFloorModes)[number]

/** What a patch build does with a photo it cannot read (patches/unreadable-photos.ts). */
export const badImagesPolicies = ["error", "skip"] as const
export type BadImagesPolicy = (typeof badImagesPolicies)[number]

/** The sizes of the paper's plan (paper/scale.ts). */
export const scales = ["quick", "medium", "paper", "full"] as const
export type Scale = (typeof scales)[number]

/** How low-data classification picks its K examples per class (evaluation/classify.ts). */
export const subsetModes = ["first", "random"] as const
export type SubsetMode = (typeof subsetModes)[number]

/** The job queue's name on a Redis server when none is given (jobs/queue.ts). */
export const DEFAULT_QUEUE_NAME = "sparse-vdl-sweep"
