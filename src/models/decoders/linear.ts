import * as tf from "@tensorflow/tfjs-core"
import { rowNorms } from "../constraints.js"
import { decoderKind } from "./decoder.js"
import { linearDeclaration } from "./linear.declaration.js"
import {
  denseLossGradients,
  denseOf,
  denseParameters,
  denseReconstructionTerm,
  denseTorchTensors,
  forwardTrace,
  lastLayerRows
} from "./dense.js"

/**
 * The linear dictionary D(z) = zW of SDL and VDL: one weight W1 (l × d) whose rows are the atoms.
 * Inference takes its gradient in Gram form (dense.ts), with the WebAssembly kernel and a native
 * BLAS where they load.
 */
export const linear = decoderKind({
  ...linearDeclaration,
  // Read by matrix products and bias additions only.
  updatesInPlace: true,
  roles: () => ({ W1: "atoms" }),
  parameters: (s, g) => denseParameters(s.codeDim, [], g.outputDim),
  forward: (params, z) => ({ output: tf.matMul(z, params.W1) as tf.Tensor2D, hidden: null }),
  fast: (d, s) => {
    const dense = denseOf(d.params, s, d.outputDim, d.linalg)
    return {
      trace: (z) => ({ output: forwardTrace(dense, z).output, hidden: null }),
      decode: (z) => tf.tidy(() => forwardTrace(dense, z).output),
      reconstructionTerm: (x) => denseReconstructionTerm(dense, x),
      lossGradients: (z, x) => {
        const { reconstruction, grads } = denseLossGradients(dense, z, x)
        return { reconstruction, hidden: null, grads: { W1: grads.W[0] } }
      },
      columns: () => lastLayerRows(dense),
      // The atoms of a linear map are its columns, pictured once.
      atoms: () => null,
      atomNorms: () => rowNorms(d.params.W1 as tf.Tensor as tf.Tensor2D)
    }
  },
  torch: (_s, params) => ({
    kind: "tensors",
    tensors: denseTorchTensors(1, params),
    description: "nn.Sequential(nn.Linear(l, d, bias=False))"
  })
})
