import type { Schema } from "effect"
import type { SettingDocs } from "../setting-docs.js"
import { NonNegative } from "./fields.js"

/** The sparsity term's settings (its maths: sparsity.ts). */
export const sparsityFields = { lambda: NonNegative }

export const sparsityDocs: SettingDocs<Schema.Struct.Type<typeof sparsityFields>> = {
  lambda: { label: "λ (sparsity)", help: "sparsity weight λ", cli: "number" }
}
