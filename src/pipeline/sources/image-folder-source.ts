/** A folder of images as a registered source: grey pixel rows, no labels. */
import * as Effect from "effect/Effect"
import { normalizationModes } from "../choices.js"
import type { DataSource } from "./source.js"

export const imageFolderSource = {
  name: "images",
  description: "a folder of JPEG/PNG images, made grey, no labels; all of one size unless resized with --size",
  reads: { what: "folder", required: true, help: "a folder of JPEG/PNG images (its subfolders are not read)" },
  uses: ["size", "trainSize", "valFraction", "testFraction", "normalize"],
  shape: { kind: "from-data", how: "the images' own size, or size × size when a size is given" },
  normalization: { kind: "fitted", modes: normalizationModes },
  labels: false,
  presetFamily: "images",
  load: (request) =>
    Effect.gen(function* () {
      const { imageFolderRows } = yield* Effect.promise(() => import("./own-data.js"))
      const { splitOwnRows } = yield* Effect.promise(() => import("./own-rows.js"))
      const size = request.size === undefined ? undefined : { height: request.size, width: request.size }
      const rows = yield* imageFolderRows(request.data as string, size)
      return { splits: yield* splitOwnRows(rows, request), describe: `${rows.source}, ${rows.height}×${rows.width}` }
    })
} satisfies DataSource
