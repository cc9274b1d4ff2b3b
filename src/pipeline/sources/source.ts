/**
 * What a data source is: a named way to turn data somewhere (a folder, a file, the digits
 * embedded in the package) into train, validation and test Datasets, with the facts a person or
 * a program needs before loading it: how it reads, its image shape, its normalisation, whether
 * it has labels, and which family of presets suits it. The sources are listed in registry.ts;
 * each lives in a file of its own.
 */
import type { FileSystem } from "@effect/platform"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { PresetFamily } from "../../models/variants.js"
import type { Dataset, Splits } from "./dataset.js"
import type { Normalization } from "./normalization.js"
import { normalizationModes } from "../choices.js"

const share = Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))

/**
 * What a source is asked to load. One shape for every source, so that a run can record it as
 * data (summary.json's data.dataSource) and an evaluation or a resume can load the same data
 * again; each source reads the fields it declares (DataSource.uses) and refuses the others.
 */
export const SourceRequest = Schema.Struct({
  /** Where the data is, as the source reads it: a folder or a file. */
  data: Schema.optional(Schema.String),
  /** Full MNIST, downloaded and cached, instead of the embedded digits. */
  download: Schema.optional(Schema.Boolean),
  /** Images resized to cover size × size and centre-cropped. */
  size: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** The vector column of an Arrow file. */
  column: Schema.optional(Schema.String),
  /** Only the first trainSize training rows. */
  trainSize: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Seeds the split of sources that split their rows themselves. */
  seed: Schema.Int,
  /** Shares of the rows held out for validation and test (default 0.1 each). */
  valFraction: Schema.optional(share),
  testFraction: Schema.optional(share),
  /** How pixels are normalised with statistics of the training rows (default global). */
  normalize: Schema.optional(Schema.Literal(...normalizationModes))
})
export type SourceRequest = typeof SourceRequest.Type

/** The request fields a source may read besides seed. */
export type RequestField = Exclude<keyof SourceRequest, "seed">

/** An image shape every load of the source has, or one that comes from the data. */
export type ShapeDeclaration =
  | { readonly kind: "fixed"; readonly height: number; readonly width: number }
  | { readonly kind: "from-data"; readonly how: string }

/**
 * How the source's rows are normalised: one fixed map, the one stored with the data, or one
 * fitted on the training rows in a mode the request chooses.
 */
export type NormalizationDeclaration =
  | { readonly kind: "fixed"; readonly normalization: Normalization }
  | { readonly kind: "stored"; readonly how: string }
  | { readonly kind: "fitted"; readonly modes: typeof normalizationModes }

/** A loaded source: its splits, a line for logs and the run's summary, and its class names when it has labels. */
export interface LoadedSource {
  readonly splits: Splits<Dataset>
  readonly describe: string
  readonly classes?: ReadonlyArray<string>
}

/**
 * A source, with E the errors its loading can fail with (its own file's, so a source with a new
 * kind of error touches no other file: the registry's SourceLoadError is the union of them all).
 */
export interface DataSource<E = unknown> {
  /** The name a request, a flag (--source) and a run's record use. */
  readonly name: string
  /** One line for --help and docs. */
  readonly description: string
  /** What `data` names for it: a folder, a file, or nothing; and whether it must be given. */
  readonly reads: { readonly what: "folder" | "file"; readonly required: boolean; readonly help: string }
  /** The request fields it reads besides data and seed; any other given is refused. */
  readonly uses: ReadonlyArray<Exclude<RequestField, "data">>
  readonly shape: ShapeDeclaration
  readonly normalization: NormalizationDeclaration
  /** Whether its rows carry class labels (low-data classification needs them). */
  readonly labels: boolean
  /**
   * The family of presets tuned for this kind of data. A variant without a preset of this family
   * starts from the default family's (presetFor), so a new source needs no preset in any variant.
   */
  readonly presetFamily: PresetFamily
  /** Loads the data; the request has been checked against `reads` and `uses`. */
  readonly load: (request: SourceRequest) => Effect.Effect<LoadedSource, E, FileSystem.FileSystem>
}

/** What a run records about a registered source's data (summary.json's data.dataSource), to load it again. */
export const RecordedSource = Schema.Struct({ name: Schema.String, request: SourceRequest })
export type RecordedSource = typeof RecordedSource.Type
