/**
 * How a setting reads to a person: its row in the report, its option on a command line and the
 * help beside it. Kept next to each setting's Schema so that adding a setting is one edit.
 */
export interface SettingDoc {
  /** The report's settings table. */
  readonly label: string
  /** One line of help. */
  readonly help: string
  /** The command-line flag without dashes; default: the field name in kebab case. */
  readonly flag?: string
  /** How the value is typed on a command line. */
  readonly cli:
    | "integer"
    | "number"
    | "yes-no"
    | "widths"
    | "number-or-lipschitz"
    | { readonly choices: ReadonlyArray<string> }
}

export type SettingDocs<A> = { readonly [K in keyof A]-?: SettingDoc }
