import type { DecoderDeclaration } from "./declaration.js"

/** The convolutional decoder's name and refusals (its maths: conv.ts). */
export const convDeclaration: DecoderDeclaration<"conv"> = {
  name: "conv",
  description:
    "transposed convolutions (kernel 4, stride 2) from a code map of 1/2ᴸ the image's side; hidden widths are channels",
  problem: (s) =>
    s.unitNormAtoms
      ? {
          field: "unitNormAtoms",
          problem:
            "the conv decoder's weights are kernels, not rows of atoms, and cannot be held to unit norm; turn the unit-norm projection off"
        }
      : null,
  load: () => import("./conv.js").then((m) => m.conv)
}
