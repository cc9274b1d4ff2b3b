import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { adamDeclaration } from "./adam.declaration.js"
import { adamwDeclaration } from "./adamw.declaration.js"
import { sgdDeclaration } from "./sgd.declaration.js"

/**
 * The optimizers settings can name, the first the default: the one registration of an optimizer.
 * A new one is its declaration (name, settings fields and their docs, X.declaration.ts), its
 * maths (X.ts, made with optimizerKind, which `load` imports) and one entry here: its choice on
 * the command line, its settings fields and their options, checkpoint metadata and report rows
 * all follow from the entry, and registry.ts loads its maths. This file loads no TensorFlow.js,
 * so that the settings Schema and the command-line help do not either.
 */
export const optimizerDeclarations = [adamDeclaration, sgdDeclaration, adamwDeclaration] as const

type Declared = (typeof optimizerDeclarations)[number]
// Folded along the tuple rather than through a union, which would absorb the other fields into Adam's empty set.
type FieldsOf<T extends ReadonlyArray<unknown>> = T extends readonly [{ readonly fields: infer F }, ...infer Rest]
  ? F & FieldsOf<Rest>
  : unknown

export type OptimizerName = Declared["name"]
export const optimizerNames = optimizerDeclarations.map((k) => k.name) as [OptimizerName, ...OptimizerName[]]

/** The settings fields of every optimizer, to be spread into the settings Schema. */
export type OptimizerFields = FieldsOf<typeof optimizerDeclarations>
export const optimizerFields = Object.assign({}, ...optimizerDeclarations.map((k) => k.fields)) as OptimizerFields
export const optimizerDocs = Object.assign({}, ...optimizerDeclarations.map((k) => k.docs)) as SettingDocs<
  Schema.Struct.Type<OptimizerFields>
>
