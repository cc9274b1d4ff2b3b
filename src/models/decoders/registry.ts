import { conv } from "./conv.js"
import type { DecoderKind, DecoderSettings } from "./decoder.js"
import { linear } from "./linear.js"
import { mlp } from "./mlp.js"

/**
 * The decoders settings can name. A new decoder is its own file and one entry here: its name
 * becomes a choice of the `decoder` setting (and of --decoder), and checkpoints, pictures, norms
 * and the PyTorch export read everything else from the module.
 */
export const decoderKinds = [linear, mlp, conv] as const satisfies ReadonlyArray<DecoderKind>

export type DecoderName = (typeof decoderKinds)[number]["name"]

export const decoderNames = decoderKinds.map((k) => k.name) as [DecoderName, ...DecoderName[]]

/** "auto", the setting's default: the linear dictionary without hidden widths, the mlp decoder with them (as before decoders were named). */
export const decoderChoices = ["auto", ...decoderNames] as const

/** The kind a model's settings name. */
export const decoderKindOf = (
  s: Pick<DecoderSettings, "hidden"> & { readonly decoder: (typeof decoderChoices)[number] }
): DecoderKind =>
  s.decoder === "auto"
    ? s.hidden.length === 0
      ? linear
      : mlp
    : (decoderKinds.find((k) => k.name === s.decoder) ?? linear)
