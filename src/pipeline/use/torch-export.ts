/**
 * A checkpoint in PyTorch's layout, as a safetensors file of the encoder's and decoder's weights
 * (no optimizer state) that experiments/torch_load.py loads into plain torch modules.
 */
import { Effect } from "effect"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { encodeSafetensors, type NamedArray } from "../../data/safetensors.js"
import type { Snapshot } from "../train/checkpoint.js"
import type { InputSpace } from "../sources/normalization.js"
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
 * so each weight is transposed. The decoder is nn.Sequential(Linear, ReLU, Linear, …), its last
 * Linear without bias: `decoder.0.weight`, `decoder.0.bias`, `decoder.2.weight`, …; the LISTA
 * encoder is `encoder.W` (Linear with bias c) and `encoder.S` (Linear without bias), with
 * z⁰ = ReLU(W(x)) and zᵗ = ReLU(W(x) + S(zᵗ⁻¹)).
 */
export const torchTensors = (s: Snapshot): Record<string, NamedArray> => {
  const out: Record<string, NamedArray> = {
    "encoder.W.weight": transposed(s.tensors["encoder.W"]),
    "encoder.W.bias": s.tensors["encoder.c"],
    "encoder.S.weight": transposed(s.tensors["encoder.S"])
  }
  const layers = s.settings.hidden.length + 1
  for (let k = 0; k < layers; k++) {
    out[`decoder.${2 * k}.weight`] = transposed(s.tensors[`decoder.W${k + 1}`])
    if (k + 1 < layers) out[`decoder.${2 * k}.bias`] = s.tensors[`decoder.b${k + 1}`]
  }
  return out
}

/** The safetensors bytes: the weights, and as metadata what a torch user needs to run them. */
export const encodeTorchExport = (s: Snapshot, input: InputSpace): Uint8Array =>
  encodeSafetensors(torchTensors(s), {
    format: torchExportFormat,
    model: s.model,
    inputDim: String(s.inputDim),
    codeDim: String(s.settings.codeDim),
    hidden: JSON.stringify(s.settings.hidden),
    listaSteps: String(s.settings.listaSteps),
    input: JSON.stringify(input),
    layout: "nn.Linear weights, out × in (transposed from sparse-vdl's in × out)"
  })

/** The model of a run folder or checkpoint (its input space as readModelCheckpoint finds it) written to `out` in PyTorch's layout. */
export const exportTorch = (path: string, out: string, input?: InputSpace) =>
  readModelCheckpoint(path, input).pipe(Effect.flatMap((c) => writeFileAtomic(out, encodeTorchExport(c.snapshot, c.input))))
