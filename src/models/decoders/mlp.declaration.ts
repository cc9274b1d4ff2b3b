import type { DecoderDeclaration } from "./declaration.js"

/** The multi-layer decoder's name and refusals (its maths: mlp.ts). */
export const mlpDeclaration: DecoderDeclaration<"mlp"> = {
  name: "mlp",
  description: "dense layers through the hidden widths with an activation between them (the -NL decoders)",
  problem: (s) =>
    s.hidden.length === 0
      ? {
          field: "hidden",
          problem:
            "the mlp decoder needs hidden widths (1024 for the paper's -NL decoder); give some, or choose the linear decoder"
        }
      : null,
  load: () => import("./mlp.js").then((m) => m.mlp)
}
