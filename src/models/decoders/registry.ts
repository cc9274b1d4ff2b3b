import type { DecoderKind, DecoderSettings } from "./decoder.js"
import { type DecoderChoice, decoderDeclarations, decoderNameOf } from "./declarations.js"

export { decoderChoices, type DecoderName, decoderNames } from "./declarations.js"

/**
 * The decoder modules, in the order of their declarations (declarations.ts, the one list a new
 * decoder joins). Loaded when this module is, so that making a decoder stays synchronous; only
 * modules that run the maths import it.
 * A module this loads must not import this one: the import would wait on itself.
 */
export const decoderKinds: ReadonlyArray<Awaited<ReturnType<(typeof decoderDeclarations)[number]["load"]>>> =
  await Promise.all(decoderDeclarations.map((d) => d.load()))

/** The kind a model's settings name. */
export const decoderKindOf = (
  s: Pick<DecoderSettings, "hidden"> & { readonly decoder: DecoderChoice }
): DecoderKind => {
  const name = decoderNameOf(s)
  return decoderKinds.find((k) => k.name === name) ?? decoderKinds[0]
}
