/** An Arrow file's vector column as a registered source: pixel rows, no labels. */
import * as Effect from "effect/Effect"
import { normalizationModes } from "../choices.js"
import type { DataSource } from "./source.js"

export const arrowSource = {
  name: "arrow",
  description: "an Arrow IPC file with a FixedSizeList<Float32>[d] column of pixel rows in [0, 1], no labels",
  reads: {
    what: "file",
    required: true,
    help: "an Arrow IPC file of pixel rows (--column picks the column when it has several)"
  },
  uses: ["column", "trainSize", "valFraction", "testFraction", "normalize"],
  shape: {
    kind: "from-data",
    how: 'the column\'s `shape` metadata ("28,28"), else a square when d is a square number, else 1 × d'
  },
  normalization: { kind: "fitted", modes: normalizationModes },
  labels: false,
  presetFamily: "vectors",
  load: (request) =>
    Effect.gen(function* () {
      const { arrowRows } = yield* Effect.promise(() => import("./own-data.js"))
      const { splitOwnRows } = yield* Effect.promise(() => import("./own-rows.js"))
      const rows = yield* arrowRows(request.data as string, request.column)
      return { splits: yield* splitOwnRows(rows, request), describe: `${rows.source}, ${rows.height}×${rows.width}` }
    })
} satisfies DataSource
