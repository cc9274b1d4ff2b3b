/** The split and normalisation shared by the sources of one's own rows (image folders, Arrow files). */
import { Effect } from "effect"
import { type Dataset, firstRows, type Splits } from "./dataset.js"
import { type OwnDataError, ownDataSplits, type PixelRows } from "./own-data.js"
import type { SourceRequest } from "./source.js"

export const DEFAULT_FRACTION = 0.1

/** Rows split by the request's seed and fractions, normalised in its mode (statistics of the training rows), the training split cut to trainSize. */
export const splitOwnRows = (rows: PixelRows, request: SourceRequest): Effect.Effect<Splits<Dataset>, OwnDataError> =>
  ownDataSplits(rows, {
    seed: request.seed,
    valFraction: request.valFraction ?? DEFAULT_FRACTION,
    testFraction: request.testFraction ?? DEFAULT_FRACTION,
    normalize: request.normalize ?? "global"
  }).pipe(Effect.map((s) => ({ ...s, train: firstRows(s.train, request.trainSize) })))
