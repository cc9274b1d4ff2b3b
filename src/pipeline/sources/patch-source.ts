/** Natural-image patches as a registered source: a patch file written by `patches build`, its LCN stored with each row. */
import * as Effect from "effect/Effect"
import type { DataSource } from "./source.js"

export const patchSource = {
  name: "patches",
  description: "natural-image patches, LCN-normalised, no labels: a patch file written by `patches build`",
  reads: { what: "file", required: true, help: "a patch file (Arrow) written by `sparse-vdl patches build`" },
  uses: ["trainSize"],
  shape: { kind: "from-data", how: "the patch file's patch size (28×28 for the paper's 52×52 crops)" },
  normalization: {
    kind: "stored",
    how: "local contrast normalisation, each row's local mean and scale stored in the file"
  },
  labels: false,
  presetFamily: "patches",
  load: (request) =>
    Effect.promise(() => import("../patches/datasets.js")).pipe(
      Effect.flatMap(({ loadPatchSplits }) => loadPatchSplits(request.data as string, request.trainSize)),
      Effect.map(({ file, splits }) => ({
        splits,
        describe: `patch file ${file.path} (${file.size}×${file.size} LCN patches)`
      }))
    )
} satisfies DataSource
