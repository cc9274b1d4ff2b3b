/**
 * A labelled image folder as a registered source: one subfolder per class (FOLDER/CLASS/IMAGE),
 * grey pixel rows with a class label each, so that low-data classification and the whole
 * evaluation run on a labelled data set of one's own.
 */
import * as Effect from "effect/Effect"
import { readLabelledFolder } from "../../data/labelled-folder.js"
import { normalizationModes } from "../choices.js"
import type { DataSource } from "./source.js"

export const labelledFolderSource = {
  name: "labelled-images",
  description:
    "a folder with one subfolder of JPEG/PNG images per class, made grey, labelled by subfolder (classes in sorted order of their names)",
  reads: { what: "folder", required: true, help: "a folder with one subfolder per class: FOLDER/CLASS/IMAGE.png" },
  uses: ["size", "trainSize", "valFraction", "testFraction", "normalize"],
  shape: { kind: "from-data", how: "the images' own size, or size × size when a size is given" },
  normalization: { kind: "fitted", modes: normalizationModes },
  labels: true,
  presetFamily: "images",
  load: (request) =>
    Effect.gen(function* () {
      const { splitOwnRows } = yield* Effect.promise(() => import("./own-rows.js"))
      const dir = request.data as string
      const size = request.size === undefined ? undefined : { height: request.size, width: request.size }
      const images = yield* readLabelledFolder(dir, size)
      const rows = {
        source: `labelled images in ${dir}`,
        x: images.x,
        rows: images.rows,
        height: images.height,
        width: images.width,
        labels: images.labels
      }
      return {
        splits: yield* splitOwnRows(rows, request),
        describe: `${rows.source}, ${images.classes.length} classes (${images.classes.join(", ")}), ${images.height}×${images.width}`,
        classes: images.classes
      }
    })
} satisfies DataSource
