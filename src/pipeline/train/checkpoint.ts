import * as tf from "@tensorflow/tfjs-core"
import { Effect, Either, ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "../../data/safetensors.js"
import { type BatchTotals, modelTensors, type SparseCodingModel } from "../../models/model.js"
import {
  type Composition,
  compositionDifference,
  compositionNames,
  type CompositionNames,
  compositionOf
} from "../../models/composition.js"
import { geometryOf, parameterShapes } from "../../models/decoders/decoder.js"
import { decoderKindOf } from "../../models/decoders/registry.js"
import { chainLayout, optimizerScalars, restoreScalars } from "../../models/optimisers/chain.js"
import { type ModelSettings, StoredSettings } from "../../models/settings.js"
import { CheckpointError } from "../errors.js"
import { InputSpace, inputSpaceProblem } from "../sources/normalization.js"

/**
 * The format written. Version 3 names the optimizers' state after the transforms that own it
 * (`encoder.adam.m.W`, and the numbers in `optimizerScalars`). Version 2 numbers epochs from 1, as
 * summary.json and metrics.arrow do (`epochsDone`, and the epochs in `progress`), and records the
 * input space (`input`: image shape and normalisation); it named Adam's state `encoderAdam.m.W`
 * and its steps `adamSteps`. Version 1 numbered epochs from 0 (`epoch`). Both are still read.
 */
export const checkpointFormat = "sparse-vdl/3"
const secondFormat = "sparse-vdl/2"
const firstFormat = "sparse-vdl/1"

/**
 * Where a run stands, beyond its tensors: everything a resume needs to continue as if it had
 * never stopped. Absent from checkpoints written before resuming existed; readers of the model
 * alone (evaluations) ignore it.
 */
export interface RunProgress {
  readonly seed: number
  /** The planned number of epochs. */
  readonly epochs: number
  readonly backend: string
  /** The epoch in progress (0-based) and how many of its batches are done; batch 0 is an epoch boundary. */
  readonly next: { readonly epoch: number; readonly batch: number }
  /** The data-order generator's state at the start of `next.epoch`: its permutation is drawn again from here. */
  readonly orderState: number
  /** Sums over the batches of `next.epoch` already done, so its figures come out as if uninterrupted. */
  readonly partial: { readonly totals: BatchTotals; readonly seconds: number } | null
  /** The finished epoch (0-based) with the lowest validation energy so far: the one in checkpoint.safetensors. */
  readonly best: { readonly epoch: number; readonly energy: number } | null
  readonly trainSeconds: number
  /** Rows of each split, so that a resume on other data is noticed. */
  readonly data: { readonly train: number; readonly val: number; readonly test: number }
  /** The caller's description of the data and the command (RunOptions.describe). */
  readonly describe: Readonly<Record<string, unknown>>
}

/** A host copy of every tensor of a model plus what is needed to rebuild and continue it. */
export interface Snapshot {
  readonly tensors: Readonly<Record<string, NamedArray>>
  readonly model: string
  readonly settings: ModelSettings
  readonly inputDim: number
  /** The last finished epoch, 0-based (−1 before the first one ends); the file stores epochs done, epoch + 1. */
  readonly epoch: number
  /** The optimizers' state numbers by part and transform (`encoder.adam.step`: Adam's updates so far). */
  readonly optimizerScalars: Readonly<Record<string, number>>
  readonly progress?: RunProgress
  /** The images the model was trained on and their normalisation; absent from checkpoints before format 2. */
  readonly input?: InputSpace
  /** What the model was made of; absent from older checkpoints, whose models are their settings' composition. */
  readonly composition?: CompositionNames
  /**
   * The parameters alone, without the optimizers' state or the run's progress: a file to use a
   * trained model from (the repository's models/), a third of a training checkpoint's size. It
   * loads for encoding and evaluation; a run cannot continue from it.
   */
  readonly weightsOnly?: boolean
}

/** The first tensor of a snapshot holding a NaN or an infinity, by name, or null. */
export const nonFiniteTensorOf = (snapshot: Snapshot): string | null => {
  for (const [name, t] of Object.entries(snapshot.tensors)) {
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) return name
  }
  return null
}

/** A parameter is `encoder.W` or `decoder.<name>`; an optimizer's state has a transform between (`encoder.adam.m.W`). */
const isParameter = (name: string) => name.split(".").length === 2

/** The snapshot's parameters, settings, input space and composition, without optimizer state or progress. */
export const weightsOnlySnapshot = (s: Snapshot): Snapshot => ({
  tensors: Object.fromEntries(Object.entries(s.tensors).filter(([name]) => isParameter(name))),
  model: s.model,
  settings: s.settings,
  inputDim: s.inputDim,
  epoch: s.epoch,
  optimizerScalars: {},
  ...(s.input === undefined ? {} : { input: s.input }),
  ...(s.composition === undefined ? {} : { composition: s.composition }),
  weightsOnly: true
})

export const snapshotModel = (
  m: SparseCodingModel,
  model: string,
  epoch: number,
  progress?: RunProgress,
  input?: InputSpace
): Snapshot => {
  const tensors: Record<string, NamedArray> = {}
  for (const [name, v] of Object.entries(modelTensors(m))) {
    tensors[name] = { shape: v.shape, data: Float32Array.from(v.dataSync() as Float32Array) }
  }
  return {
    tensors,
    model,
    settings: m.settings,
    inputDim: m.inputDim,
    epoch,
    optimizerScalars: {
      ...prefixed("encoder", optimizerScalars(m.encoderOptimizer)),
      ...prefixed("decoder", optimizerScalars(m.decoderOptimizer))
    },
    ...(progress === undefined ? {} : { progress }),
    ...(input === undefined ? {} : { input }),
    composition: compositionNames(m.composition)
  }
}

const prefixed = <A>(prefix: string, record: Readonly<Record<string, A>>): Record<string, A> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [`${prefix}.${k}`, v]))

/**
 * The name and shape of every tensor makeModel creates for these settings (parameters, the
 * decoder's from its module, then the state of the optimizer transforms the settings name), and
 * the names of the optimizers' state numbers, computed without building it, so that a checkpoint
 * is checked before a model of its size is allocated (a corrupt code size must not become a
 * gigabyte allocation). A test holds this to modelTensors.
 */
const expectedLayout = (
  s: ModelSettings,
  inputDim: number,
  image?: { readonly height: number; readonly width: number }
): { readonly tensors: Record<string, number[]>; readonly scalars: ReadonlyArray<string> } => {
  const parts = { encoder: {} as Record<string, number[]>, decoder: {} as Record<string, number[]> }
  const params: Record<string, { encoder: boolean; shape: number[] }> = {
    W: { encoder: true, shape: [inputDim, s.codeDim] },
    c: { encoder: true, shape: [s.codeDim] },
    S: { encoder: true, shape: [s.codeDim, s.codeDim] }
  }
  for (const [name, p] of Object.entries(params)) parts.encoder[name] = p.shape
  for (const [name, shape] of Object.entries(
    parameterShapes(decoderKindOf(s), s, geometryOf(s.codeDim, inputDim, image))
  )) {
    parts.decoder[name] = shape
  }
  const { encoderUpdate, decoderUpdate } = compositionOf(s)
  const encoderState = chainLayout(encoderUpdate, parts.encoder)
  const decoderState = chainLayout(decoderUpdate, parts.decoder)
  const tensors: Record<string, number[]> = {
    ...prefixed("encoder", parts.encoder),
    ...prefixed("decoder", parts.decoder)
  }
  for (const [prefix, state] of [
    ["encoder", encoderState],
    ["decoder", decoderState]
  ] as const) {
    for (const [k, shape] of Object.entries(state.tensors)) tensors[`${prefix}.${k}`] = [...shape]
  }
  return {
    tensors,
    scalars: [...encoderState.scalars.map((k) => `encoder.${k}`), ...decoderState.scalars.map((k) => `decoder.${k}`)]
  }
}

export const expectedShapes = (
  s: ModelSettings,
  inputDim: number,
  image?: { readonly height: number; readonly width: number }
): Record<string, number[]> => expectedLayout(s, inputDim, image).tensors

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.length === b.length && a.every((d, i) => d === b[i])

/** Copy a snapshot's values into a model of the same shape. */
export const restoreSnapshot = (
  m: SparseCodingModel,
  s: Snapshot,
  file: string
): Effect.Effect<void, CheckpointError> =>
  Effect.gen(function* () {
    const differs = compositionMismatch(s, m.composition)
    if (differs !== null) {
      return yield* Effect.fail(
        new CheckpointError({
          file,
          problem: `its model was made of other pieces than this one (${differs}). Build this model with the composition it was trained with (loadModel's and trainingLoop's composition option), or start a new run`
        })
      )
    }
    // A weights-only file restores the parameters; the optimizers keep their fresh state.
    const target = Object.fromEntries(
      Object.entries(modelTensors(m)).filter(([name]) => s.weightsOnly !== true || isParameter(name))
    )
    for (const [name, v] of Object.entries(target)) {
      const saved = s.tensors[name]
      if (saved === undefined) {
        return yield* Effect.fail(
          new CheckpointError({
            file,
            problem: `it has no tensor ${name}: it was written for another kind of model (its settings: ${describeShape(s.settings)}; this model: ${describeShape(m.settings)}). Use a checkpoint of this model, or start a new run`
          })
        )
      }
      if (!sameShape(saved.shape, v.shape)) {
        return yield* Effect.fail(
          new CheckpointError({
            file,
            problem: `tensor ${name} has shape [${saved.shape}] but this model needs [${v.shape}] (another code size or hidden width?). Use a checkpoint of this model, or start a new run`
          })
        )
      }
    }
    const optimizers =
      s.weightsOnly === true
        ? []
        : ([
            ["encoder", m.encoderOptimizer],
            ["decoder", m.decoderOptimizer]
          ] as const)
    for (const [prefix, o] of optimizers) {
      const missing = Object.keys(optimizerScalars(o)).find((k) => s.optimizerScalars[`${prefix}.${k}`] === undefined)
      if (missing !== undefined) {
        return yield* Effect.fail(
          new CheckpointError({
            file,
            problem: `it has no optimizer state number ${prefix}.${missing}: it was written for another optimizer. Use a checkpoint of this model, or start a new run`
          })
        )
      }
    }
    tf.tidy(() => {
      for (const [name, v] of Object.entries(target)) v.assign(tf.tensor(s.tensors[name].data, v.shape))
    })
    for (const [prefix, o] of optimizers) {
      restoreScalars(
        o,
        Object.fromEntries(
          Object.entries(s.optimizerScalars).flatMap(([k, v]) =>
            k.startsWith(`${prefix}.`) ? [[k.slice(prefix.length + 1), v]] : []
          )
        )
      )
    }
  })

/** A model's structure in words, for messages about checkpoints that do not fit. */
export const describeShape = (s: Pick<ModelSettings, "codeDim" | "hidden"> & Partial<Pick<ModelSettings, "decoder">>) =>
  `${s.decoder === undefined || s.decoder === "auto" ? "" : `${s.decoder} decoder, `}code size ${s.codeDim}, hidden widths [${(s.hidden ?? []).join(",")}]`

/**
 * SHA-256 of the tensors' bytes in name order. Safetensors has no checksum of its own, and a
 * flipped bit in a weight would otherwise load as a plausible number.
 */
const dataDigest = (tensors: Readonly<Record<string, NamedArray>>): string => {
  const hash = createHash("sha256")
  for (const name of Object.keys(tensors).sort()) {
    const d = tensors[name].data
    hash.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
  }
  return hash.digest("hex")
}

/** Progress with its epochs shifted by `by`: +1 from memory (0-based) to a format-2 file, −1 back. */
const shiftEpochs = (p: RunProgress, by: 1 | -1): RunProgress => ({
  ...p,
  next: { epoch: p.next.epoch + by, batch: p.next.batch },
  best: p.best === null ? null : { epoch: p.best.epoch + by, energy: p.best.energy }
})

export const encodeSnapshot = (s: Snapshot): Uint8Array =>
  encodeSafetensors(s.tensors, {
    format: checkpointFormat,
    dataSha256: dataDigest(s.tensors),
    model: s.model,
    settings: JSON.stringify(s.settings),
    inputDim: String(s.inputDim),
    epochsDone: String(s.epoch + 1),
    optimizerScalars: JSON.stringify(s.optimizerScalars),
    ...(s.progress === undefined ? {} : { progress: JSON.stringify(shiftEpochs(s.progress, 1)) }),
    ...(s.input === undefined ? {} : { input: JSON.stringify(s.input) }),
    ...(s.composition === undefined ? {} : { composition: JSON.stringify(s.composition) }),
    ...(s.weightsOnly === true ? { weightsOnly: "true" } : {})
  })

export const writeCheckpoint = (path: string, s: Snapshot) => writeFileAtomic(path, encodeSnapshot(s))

// What a checkpoint's metadata must hold: a file that decodes is one a model can be built from.

const CompositionNamesSchema = Schema.Struct({
  terms: Schema.Array(Schema.String),
  inference: Schema.String,
  decoderUpdate: Schema.Array(Schema.String),
  encoderUpdate: Schema.Array(Schema.String)
})

/**
 * The model built to take a snapshot must be made of what the snapshot's was: a checkpoint of a
 * model trained with a composition of its own says so, and is refused by one built from its
 * settings alone. Null when they agree, or when the checkpoint records none (older files).
 */
export const compositionMismatch = (s: Snapshot, built: Composition): string | null =>
  s.composition === undefined ? null : compositionDifference(s.composition, compositionNames(built))
const Count = Schema.Int.pipe(Schema.nonNegative())
const PositiveInt = Schema.Int.pipe(Schema.positive())
const Finite = Schema.Number.pipe(Schema.finite())
const NonNegative = Finite.pipe(Schema.nonNegative())

const TotalsSchema = Schema.Struct({
  rows: Count,
  energy: Finite,
  psnr: Finite,
  zeros: NonNegative,
  entries: NonNegative,
  hiddenZeros: NonNegative,
  hiddenEntries: NonNegative,
  fistaSteps: NonNegative,
  fistaSeconds: NonNegative,
  // Absent from checkpoints written before it was recorded.
  figureSeconds: Schema.optionalWith(NonNegative, { default: () => 0 }),
  nonFiniteCodes: NonNegative
})

const ProgressSchema = Schema.Struct({
  seed: Schema.Int,
  epochs: Count,
  backend: Schema.String,
  next: Schema.Struct({ epoch: Count, batch: Count }),
  orderState: Schema.Int.pipe(Schema.between(0, 0xffffffff)),
  partial: Schema.NullOr(Schema.Struct({ totals: TotalsSchema, seconds: NonNegative })),
  best: Schema.NullOr(Schema.Struct({ epoch: Count, energy: Finite })),
  trainSeconds: NonNegative,
  data: Schema.Struct({ train: Count, val: Count, test: Count }),
  describe: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

const AdamStepsSchema = Schema.Struct({ encoder: Count, decoder: Count })
const ScalarsSchema = Schema.Record({ key: Schema.String, value: NonNegative })

/**
 * Tensors and state numbers as formats 1 and 2 named them, by today's names: Adam's moments were
 * `encoderAdam.m.W` and are now the `adam` transform's state, `encoder.adam.m.W`; its step counts
 * were `adamSteps`.
 */
const renameOldState = <A>(tensors: Readonly<Record<string, A>>): Record<string, A> =>
  Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => [name.replace(/^(encoder|decoder)Adam\./, "$1.adam."), t])
  )
const oldScalars = (steps: typeof AdamStepsSchema.Type): Record<string, number> => ({
  "encoder.adam.step": steps.encoder,
  "decoder.adam.step": steps.decoder
})

const metadataField = <A, I>(
  schema: Schema.Schema<A, I>,
  key: string,
  raw: string | undefined,
  file: string
): Either.Either<A, CheckpointError> => {
  if (raw === undefined)
    return Either.left(
      new CheckpointError({
        file,
        problem: `its metadata has no ${key}: it was not written by this program, or is damaged. Use a checkpoint written by a training run of this program, or start a new run`
      })
    )
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return Either.left(
      new CheckpointError({
        file,
        problem: `its ${key} metadata is not valid JSON: the file is damaged. Use another checkpoint, or start a new run`
      })
    )
  }
  return Schema.decodeUnknownEither(schema)(json).pipe(
    Either.mapLeft((e) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
      const where = issue?.path.length ? ` at ${issue.path.join(".")}` : ""
      return new CheckpointError({
        file,
        problem: `its ${key} metadata is malformed${where} (${issue?.message ?? "invalid"}): the file is damaged. Use another checkpoint, or start a new run`
      })
    })
  )
}

/**
 * Decode a checkpoint held in memory. Every way the bytes can be wrong is a CheckpointError,
 * and a snapshot that decodes has exactly the tensors its settings call for, so a model built
 * from those settings can take it.
 */
export const decodeCheckpoint = (bytes: Uint8Array, path: string): Either.Either<Snapshot, CheckpointError> =>
  Either.gen(function* () {
    const decoded = yield* decodeSafetensors(bytes, path).pipe(
      Either.mapLeft(
        (e) =>
          new CheckpointError({
            file: path,
            problem: `${e.problem}. It is damaged or not a checkpoint; use another one, or start a new run`
          })
      )
    )
    const { metadata } = decoded
    if (metadata.format !== checkpointFormat && metadata.format !== secondFormat && metadata.format !== firstFormat) {
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem: `its format is ${metadata.format ?? "unknown"}, expected ${checkpointFormat}, ${secondFormat} or ${firstFormat}. Use a checkpoint written by a training run of this program, or start a new run`
        })
      )
    }
    const numberedFromOne = metadata.format !== firstFormat
    const weightsOnly = metadata.weightsOnly === "true"
    const namedByTransform = metadata.format === checkpointFormat
    if (typeof metadata.model !== "string" || metadata.model === "") {
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem: "its metadata names no model: the file is damaged. Use another checkpoint, or start a new run"
        })
      )
    }
    const settings: ModelSettings = yield* metadataField(StoredSettings, "settings", metadata.settings, path)
    const optimizerScalars = namedByTransform
      ? yield* metadataField(ScalarsSchema, "optimizerScalars", metadata.optimizerScalars, path)
      : oldScalars(yield* metadataField(AdamStepsSchema, "adamSteps", metadata.adamSteps, path))
    const inputDim = yield* metadataField(PositiveInt, "inputDim", metadata.inputDim, path)
    const epoch = numberedFromOne
      ? (yield* metadataField(Count, "epochsDone", metadata.epochsDone, path)) - 1
      : yield* metadataField(Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)), "epoch", metadata.epoch, path)
    const stored =
      metadata.progress === undefined
        ? undefined
        : yield* metadataField(ProgressSchema, "progress", metadata.progress, path)
    if (
      numberedFromOne &&
      stored !== undefined &&
      (stored.next.epoch < 1 || (stored.best !== null && stored.best.epoch < 1))
    ) {
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem:
            "its progress metadata numbers an epoch 0, but this format numbers epochs from 1: the file is damaged. Use another checkpoint, or start a new run"
        })
      )
    }
    const progress = stored === undefined || !numberedFromOne ? stored : shiftEpochs(stored, -1)
    const input =
      metadata.input === undefined ? undefined : yield* metadataField(InputSpace, "input", metadata.input, path)
    if (input !== undefined) {
      const problem = inputSpaceProblem(input, inputDim)
      if (problem !== null)
        return yield* Either.left(
          new CheckpointError({
            file: path,
            problem: `its input metadata ${problem}: the file is damaged or was edited. Use another checkpoint, or start a new run`
          })
        )
    }
    const composition =
      metadata.composition === undefined
        ? undefined
        : yield* metadataField(CompositionNamesSchema, "composition", metadata.composition, path)
    const geometryProblem =
      decoderKindOf(settings).geometryProblem?.(settings, geometryOf(settings.codeDim, inputDim, input)) ?? null
    if (geometryProblem !== null)
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem: `its settings do not fit its images (${geometryProblem}): the file is damaged or was edited. Use another checkpoint, or start a new run`
        })
      )
    const tensors = namedByTransform ? decoded.tensors : renameOldState(decoded.tensors)
    // A model trained with update chains of its own keeps the state of its own transforms: only
    // its parameters can be checked here, its state when it is restored into the model it names.
    const ownChains =
      composition !== undefined &&
      compositionDifference(composition, compositionNames(compositionOf(settings))) !== null
    const layout = expectedLayout(settings, inputDim, input)
    const expected =
      ownChains || weightsOnly
        ? Object.fromEntries(Object.entries(layout.tensors).filter(([name]) => isParameter(name)))
        : layout.tensors
    for (const [name, shape] of Object.entries(expected)) {
      const t = tensors[name]
      if (t === undefined)
        return yield* Either.left(
          new CheckpointError({
            file: path,
            problem: `it has no tensor ${name}, which its settings (${describeShape(settings)}) call for: the file is damaged or was edited. Use another checkpoint, or start a new run`
          })
        )
      if (!sameShape(t.shape, shape)) {
        return yield* Either.left(
          new CheckpointError({
            file: path,
            problem: `tensor ${name} has shape [${t.shape}] but its settings (${describeShape(settings)}, input size ${inputDim}) call for [${shape}]: the file is damaged or was edited. Use another checkpoint, or start a new run`
          })
        )
      }
    }
    const extra = Object.keys(tensors).find(
      (name) => !(name in expected) && !(ownChains && !weightsOnly && !isParameter(name))
    )
    if (extra !== undefined)
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem: `it has a tensor ${extra} that its settings do not call for: the file is damaged or was edited. Use another checkpoint, or start a new run`
        })
      )
    // Checkpoints from before the digest was recorded have none to check; the digest is of the names as written.
    if (metadata.dataSha256 !== undefined && metadata.dataSha256 !== dataDigest(decoded.tensors)) {
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem:
            "its tensor data does not match the SHA-256 recorded when it was written: the file is damaged. Use another checkpoint, or start a new run"
        })
      )
    }
    const missingScalar =
      ownChains || weightsOnly ? undefined : layout.scalars.find((name) => optimizerScalars[name] === undefined)
    if (missingScalar !== undefined)
      return yield* Either.left(
        new CheckpointError({
          file: path,
          problem: `its optimizerScalars metadata has no ${missingScalar}, which its settings (optimizer ${settings.optimizer}) call for: the file is damaged or was edited. Use another checkpoint, or start a new run`
        })
      )
    return {
      tensors,
      model: metadata.model,
      settings,
      inputDim,
      epoch,
      optimizerScalars,
      ...(progress === undefined ? {} : { progress }),
      ...(input === undefined ? {} : { input }),
      ...(composition === undefined ? {} : { composition }),
      ...(weightsOnly ? { weightsOnly } : {})
    }
  })

export const readCheckpoint = (path: string): Effect.Effect<Snapshot, CheckpointError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (e) => new CheckpointError({ file: path, problem: `cannot be read (${errnoText(e)})` })
    })
    return yield* decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path)
  })

const errnoText = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code
  if (code === "ENOENT") return "it does not exist"
  if (code === "EISDIR") return "it is a folder"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  return e instanceof Error ? e.message : String(e)
}
