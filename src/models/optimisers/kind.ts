import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import type { Transform } from "./transform.js"

/**
 * An optimizer as the settings know it: the settings fields it reads (a piece of the settings
 * Schema, each with a default so that older checkpoints decode, and their documentation) and how
 * its transform is made from them. The same transform steps the encoder and the decoder, each
 * with its own learning rate and state.
 */
export interface OptimizerKind<N extends string, F extends Schema.Struct.Fields> {
  /** Its choice on the command line (`--optimizer sgd`) and in the settings. */
  readonly name: N
  readonly description: string
  readonly fields: F
  readonly docs: SettingDocs<Schema.Struct.Type<F>>
  readonly make: (settings: Schema.Struct.Type<F>) => Transform
}

export const optimizerKind = <const N extends string, F extends Schema.Struct.Fields>(
  kind: OptimizerKind<N, F>
): OptimizerKind<N, F> => kind

/**
 * What the settings need of an optimizer, without its maths: the settings Schema, the
 * command-line options and the help read these, so that they load no TensorFlow.js. `load`
 * imports the kind itself from its own module, which registry.ts does before any maths runs.
 */
export interface OptimizerDeclaration<N extends string, F extends Schema.Struct.Fields>
  extends Omit<OptimizerKind<N, F>, "make"> {
  readonly load: () => Promise<OptimizerKind<N, F>>
}
