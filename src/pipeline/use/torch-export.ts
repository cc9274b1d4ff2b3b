/**
 * A checkpoint in PyTorch's layout, as a safetensors file of the encoder's and decoder's weights
 * (no optimizer state) that experiments/torch_load.py loads into plain torch modules.
 */
import { Effect, Either } from "effect"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { encodeSafetensors, type NamedArray } from "../../data/safetensors.js"
import { geometryOf } from "../../models/decoders/decoder.js"
import { decoderKindOf } from "../../models/decoders/registry.js"
import type { Snapshot } from "../train/checkpoint.js"
import type { InputSpace } from "../sources/normalization.js"
import { TorchExportError } from "./errors.js"
import { readModelCheckpoint } from "./read-model.js"

export const torchExportFormat = "sparse-vdl-torch/1"

/** A rows × cols row-major matrix transposed. */
const transposed = (m: NamedArray): NamedArray => {
  const [rows, cols] = m.shape as [number, number]
  const out = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m.data[i * cols + j]
  return { shape: [cols, rows], data: out }
}

/**
 * The weights under the names of torch modules. We compute with row vectors, x·W, so every weight
 * here is stored input × output; nn.Linear computes x·Wᵀ with its weight stored output × input,
 * so each weight is transposed. The LISTA encoder is `encoder.W` (Linear with bias c) and
 * `encoder.S` (Linear without bias), with z⁰ = ReLU(W(x)) and zᵗ = ReLU(W(x) + S(zᵗ⁻¹)). The
 * decoder's names come from its module (a dense one is nn.Sequential(Linear, ReLU, Linear, …),
 * its last Linear without bias: `decoder.0.weight`, `decoder.0.bias`, `decoder.2.weight`, …); a
 * module without a PyTorch layout refuses, and so does this.
 */
export const torchTensors = (
  s: Snapshot,
  file = "the checkpoint"
): Either.Either<Record<string, NamedArray>, TorchExportError> => {
  const kind = decoderKindOf(s.settings)
  const params = Object.fromEntries(
    kind.parameters(s.settings, geometryFor(s)).map((p) => [p.name, s.tensors[`decoder.${p.name}`]])
  )
  const layout = kind.torch(s.settings, params)
  if (layout.kind === "refused")
    return Either.left(
      new TorchExportError({
        file,
        problem: `its ${kind.name} decoder has no PyTorch layout (${layout.reason}). Use its weights from the checkpoint itself`
      })
    )
  return Either.right({
    "encoder.W.weight": transposed(s.tensors["encoder.W"]),
    "encoder.W.bias": s.tensors["encoder.c"],
    "encoder.S.weight": transposed(s.tensors["encoder.S"]),
    ...(layout.tensors as Record<string, NamedArray>)
  })
}

const geometryFor = (s: Snapshot) => geometryOf(s.settings.codeDim, s.inputDim, s.input)

/** The safetensors bytes: the weights, and as metadata what a torch user needs to run them. */
export const encodeTorchExport = (
  s: Snapshot,
  input: InputSpace,
  file?: string
): Either.Either<Uint8Array, TorchExportError> =>
  Either.map(torchTensors(s, file), (tensors) =>
    encodeSafetensors(tensors, {
      format: torchExportFormat,
      model: s.model,
      inputDim: String(s.inputDim),
      codeDim: String(s.settings.codeDim),
      hidden: JSON.stringify(s.settings.hidden),
      listaSteps: String(s.settings.listaSteps),
      input: JSON.stringify(input),
      layout: "nn.Linear weights, out × in (transposed from sparse-vdl's in × out)"
    })
  )

/** The model of a run folder or checkpoint (its input space as readModelCheckpoint finds it) written to `out` in PyTorch's layout. */
export const exportTorch = (path: string, out: string, input?: InputSpace) =>
  readModelCheckpoint(path, input).pipe(
    Effect.flatMap((c) =>
      Effect.flatMap(encodeTorchExport(c.snapshot, c.input, c.file), (bytes) => writeFileAtomic(out, bytes))
    )
  )
