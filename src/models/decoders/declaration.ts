import type { DecoderKind } from "./decoder.js"

/**
 * What the settings need of a decoder, without its maths: its name (a choice of the `decoder`
 * setting), its description, and the settings it refuses. The settings Schema, the command-line
 * options and the help read these, so that they load no TensorFlow.js. `load` imports the module
 * itself, which registry.ts does before any maths runs.
 */
export interface DecoderDeclaration<N extends string = string>
  extends Pick<DecoderKind<N>, "name" | "description" | "problem"> {
  readonly load: () => Promise<DecoderKind<N>>
}
