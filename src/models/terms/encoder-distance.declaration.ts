import type { TermDeclaration } from "./term.js"
import { NonNegative } from "./fields.js"

const fields = { gamma: NonNegative }

/** The encoder-distance term's settings (its maths: encoder-distance.ts). */
export const encoderDistanceDeclaration: TermDeclaration<typeof fields> = {
  name: "encoder",
  description: "(γ/l)‖z − E(x)‖², distance to the encoder's prediction",
  fields,
  docs: { gamma: { label: "γ (encoder distance)", help: "encoder-distance weight γ", cli: "number" } },
  load: () => import("./encoder-distance.js").then((m) => m.encoderDistance)
}
