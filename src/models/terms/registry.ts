import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { covariance } from "./covariance.js"
import { encoderDistance } from "./encoder-distance.js"
import { sparsity } from "./sparsity.js"
import type { CodeTerm } from "./term.js"
import { varianceHinge } from "./variance-hinge.js"

/**
 * Every smooth code term the settings know, in the order their gradients are summed. A new term is
 * its own file and one entry here: its settings fields, their command-line options, checkpoint
 * metadata and report rows all follow from the entry.
 */
export const codeTermKinds = [varianceHinge, encoderDistance, covariance] as const

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never
type Kinds = typeof sparsity | (typeof codeTermKinds)[number]

/** The settings fields of every term, to be spread into the settings Schema. */
export type TermFields = UnionToIntersection<Kinds["fields"]>
export const termFields = Object.assign({}, sparsity.fields, ...codeTermKinds.map((k) => k.fields)) as TermFields
export const termDocs = Object.assign({}, sparsity.docs, ...codeTermKinds.map((k) => k.docs)) as SettingDocs<
  Schema.Struct.Type<TermFields>
>

/** The smooth terms a set of settings switches on. */
export const codeTermsOf = (settings: Schema.Struct.Type<TermFields>): CodeTerm[] =>
  codeTermKinds.flatMap((kind) => {
    const term = (kind.make as (s: typeof settings) => CodeTerm | null)(settings)
    return term === null ? [] : [term]
  })
