import type { DecoderDeclaration } from "./declaration.js"

/** The linear dictionary's name and refusals (its maths: linear.ts). */
export const linearDeclaration: DecoderDeclaration<"linear"> = {
  name: "linear",
  description: "linear dictionary zW (SDL, VDL): atoms are the rows of W1",
  problem: (s) =>
    s.hidden.length > 0
      ? {
          field: "hidden",
          problem: `the linear decoder has no hidden layers, but hidden widths [${s.hidden.join(",")}] were given; give none, or choose the mlp decoder`
        }
      : null,
  load: () => import("./linear.js").then((m) => m.linear)
}
