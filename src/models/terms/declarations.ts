import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { covarianceDeclaration } from "./covariance.declaration.js"
import { encoderDistanceDeclaration } from "./encoder-distance.declaration.js"
import { sparsityDocs, sparsityFields } from "./sparsity.declaration.js"
import { varianceHingeDeclaration } from "./variance-hinge.declaration.js"

/**
 * Every smooth code term the settings know, in the order their gradients are summed: the one
 * registration of a term. A new term is its declaration (name, settings fields and their docs,
 * X.declaration.ts), its maths (X.ts, which `load` imports) and one entry here: its settings
 * fields, their command-line options, checkpoint metadata and report rows all follow from the
 * entry, and registry.ts loads its maths. This file loads no TensorFlow.js, so that the settings
 * Schema and the command-line help do not either.
 */
export const codeTermDeclarations = [
  varianceHingeDeclaration,
  encoderDistanceDeclaration,
  covarianceDeclaration
] as const

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never
type Declared = { readonly fields: typeof sparsityFields } | (typeof codeTermDeclarations)[number]

/** The settings fields of every term, to be spread into the settings Schema. */
export type TermFields = UnionToIntersection<Declared["fields"]>
export const termFields = Object.assign({}, sparsityFields, ...codeTermDeclarations.map((k) => k.fields)) as TermFields
export const termDocs = Object.assign({}, sparsityDocs, ...codeTermDeclarations.map((k) => k.docs)) as SettingDocs<
  Schema.Struct.Type<TermFields>
>
