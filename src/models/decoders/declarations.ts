import { convDeclaration } from "./conv.declaration.js"
import type { DecoderSettings } from "./decoder.js"
import type { DecoderDeclaration } from "./declaration.js"
import { linearDeclaration } from "./linear.declaration.js"
import { mlpDeclaration } from "./mlp.declaration.js"

/**
 * The decoders settings can name: the one registration of a decoder. A new decoder is its
 * declaration (name and refusals, X.declaration.ts), its module (X.ts, which `load` imports) and
 * one entry here: its name becomes a choice of the `decoder` setting (and of --decoder), and
 * checkpoints, pictures, norms and the PyTorch export read everything else from the module, which
 * registry.ts loads. This file loads no TensorFlow.js, so that the settings Schema and the
 * command-line help do not either.
 */
export const decoderDeclarations = [
  linearDeclaration,
  mlpDeclaration,
  convDeclaration
] as const satisfies ReadonlyArray<DecoderDeclaration>

export type DecoderName = (typeof decoderDeclarations)[number]["name"]

export const decoderNames = decoderDeclarations.map((k) => k.name) as [DecoderName, ...DecoderName[]]

/** "auto", the setting's default: the linear dictionary without hidden widths, the mlp decoder with them (as before decoders were named). */
export const decoderChoices = ["auto", ...decoderNames] as const

export type DecoderChoice = (typeof decoderChoices)[number]

/** The name "auto" stands for with these settings. */
export const decoderNameOf = (s: Pick<DecoderSettings, "hidden"> & { readonly decoder: DecoderChoice }): DecoderName =>
  s.decoder === "auto" ? (s.hidden.length === 0 ? "linear" : "mlp") : s.decoder

/** The declaration a model's settings name. */
export const decoderDeclarationOf = (
  s: Pick<DecoderSettings, "hidden"> & { readonly decoder: DecoderChoice }
): DecoderDeclaration => {
  const name = decoderNameOf(s)
  return decoderDeclarations.find((k) => k.name === name) ?? linearDeclaration
}
