import type { DecoderKind, DecoderSettings } from "./decoder.js"

/**
 * What the settings need of a decoder, without its maths: its name (a choice of the `decoder`
 * setting), its description, and the settings it refuses. The settings Schema, the command-line
 * options and the help read these, so that they load no TensorFlow.js. `load` imports the module
 * itself, which registry.ts does before any maths runs.
 */
export interface DecoderDeclaration<N extends string = string> {
  readonly name: N
  readonly description: string
  readonly problem: (s: DecoderSettings) => { readonly field: keyof DecoderSettings; readonly problem: string } | null
  readonly load: () => Promise<DecoderKind<N>>
}
