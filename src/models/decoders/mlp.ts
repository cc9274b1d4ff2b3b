import * as tf from "@tensorflow/tfjs-core"
import { rowNorms } from "../constraints.js"
import { decoderKind } from "./decoder.js"
import { mlpDeclaration } from "./mlp.declaration.js"
import {
  denseLossGradients,
  denseOf,
  denseParameterNames,
  denseParameters,
  denseReconstructionTerm,
  denseTorchTensors,
  forwardTrace,
  lastLayerRows,
  layersOf
} from "./dense.js"
import { activations } from "./activations.js"

/**
 * The multi-layer decoder of the -NL variants: affine maps through the hidden widths with an
 * activation between them (ReLU in the paper), the last one without bias. Its hand-written
 * backward pass and Gram shortcut are in dense.ts.
 */
export const mlp = decoderKind({
  ...mlpDeclaration,
  // Read by matrix products and bias additions only.
  updatesInPlace: true,
  roles: (s) =>
    Object.fromEntries(
      denseParameterNames(s.hidden.length + 1).map(({ name, bias }) => [name, bias ? "bias" : "atoms"])
    ),
  parameters: (s, g) => denseParameters(s.codeDim, s.hidden, g.outputDim),
  forward: (params, z, s) => {
    const { output, hidden } = forwardTrace(
      { layers: layersOf(params, s.hidden.length + 1), activation: activations[s.activation] },
      z
    )
    return { output, hidden: hidden[0] ?? null }
  },
  fast: (d, s) => {
    const dense = denseOf(d.params, s, d.outputDim, d.linalg)
    return {
      trace: (z) => {
        const { output, hidden } = forwardTrace(dense, z)
        return { output, hidden: hidden[0] ?? null }
      },
      decode: (z) => tf.tidy(() => forwardTrace(dense, z).output),
      reconstructionTerm: (x) => denseReconstructionTerm(dense, x),
      lossGradients: (z, x) => {
        const { reconstruction, hidden, grads } = denseLossGradients(dense, z, x)
        const named: Record<string, tf.Tensor> = {}
        grads.W.forEach((g, k) => {
          named[`W${k + 1}`] = g
        })
        grads.b.forEach((g, k) => {
          if (g !== null) named[`b${k + 1}`] = g
        })
        return { reconstruction, hidden: hidden[0] ?? null, grads: named }
      },
      columns: () => lastLayerRows(dense),
      // The atoms the code components multiply are in the hidden space: the rows of W1.
      atomNorms: () => rowNorms(d.params.W1 as tf.Tensor as tf.Tensor2D)
    }
  },
  torch: (s, params) =>
    s.activation === "relu"
      ? {
          kind: "tensors",
          tensors: denseTorchTensors(s.hidden.length + 1, params),
          description: "nn.Sequential(nn.Linear, nn.ReLU, …, nn.Linear(bias=False))"
        }
      : { kind: "refused", reason: `experiments/torch_load.py builds ReLU decoders, and this one uses ${s.activation}` }
})
