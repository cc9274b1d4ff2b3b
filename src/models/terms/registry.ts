import type { Schema } from "effect"
import { codeTermDeclarations, type TermFields } from "./declarations.js"
import type { CodeTerm } from "./term.js"

export { type TermFields, termDocs, termFields } from "./declarations.js"

/**
 * The smooth code terms with their maths, in the order of their declarations (declarations.ts, the
 * one list a new term joins). Loaded when this module is, so that building an energy stays
 * synchronous; only modules that run the maths import it.
 * A module this loads must not import this one: the import would wait on itself.
 */
export const codeTermKinds: ReadonlyArray<Awaited<ReturnType<(typeof codeTermDeclarations)[number]["load"]>>> =
  await Promise.all(codeTermDeclarations.map((d) => d.load()))

/** The smooth terms a set of settings switches on. */
export const codeTermsOf = (settings: Schema.Struct.Type<TermFields>): CodeTerm[] =>
  codeTermKinds.flatMap((kind) => {
    const term = (kind.make as (s: typeof settings) => CodeTerm | null)(settings)
    return term === null ? [] : [term]
  })
