import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { adamKind } from "./adam.js"
import { adamwKind } from "./adamw.js"
import { sgdKind } from "./sgd.js"
import type { Transform } from "./transform.js"

/**
 * The optimizers settings can name; the first is the default. A new one is its own file (made
 * with optimizerKind) and one entry here: its choice on the command line, its settings fields and
 * their options, checkpoint metadata and report rows all follow from the entry.
 */
export const optimizerKinds = [adamKind, sgdKind, adamwKind] as const

type Kinds = (typeof optimizerKinds)[number]
// Folded along the tuple rather than through a union, which would absorb the other fields into Adam's empty set.
type FieldsOf<T extends ReadonlyArray<unknown>> = T extends readonly [{ readonly fields: infer F }, ...infer Rest]
  ? F & FieldsOf<Rest>
  : unknown

export type OptimizerName = Kinds["name"]
export const optimizerNames = optimizerKinds.map((k) => k.name) as [OptimizerName, ...OptimizerName[]]

/** The settings fields of every optimizer, to be spread into the settings Schema. */
export type OptimizerFields = FieldsOf<typeof optimizerKinds>
export const optimizerFields = Object.assign({}, ...optimizerKinds.map((k) => k.fields)) as OptimizerFields
export const optimizerDocs = Object.assign({}, ...optimizerKinds.map((k) => k.docs)) as SettingDocs<
  Schema.Struct.Type<OptimizerFields>
>

/** The optimizer's transform the settings name. */
export const optimizerOf = (
  settings: Schema.Struct.Type<OptimizerFields> & { readonly optimizer: OptimizerName }
): Transform => {
  const kind = optimizerKinds.find((k) => k.name === settings.optimizer) ?? optimizerKinds[0]
  return (kind.make as (s: typeof settings) => Transform)(settings)
}
