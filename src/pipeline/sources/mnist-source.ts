/** MNIST as a registered source: a folder of IDX files, the checksum-verified download, or the digits embedded in the package. */
import * as Effect from "effect/Effect"
import { resolve } from "node:path"
import { mapSplits } from "./dataset.js"
import type { MnistSource } from "./mnist.js"
import { mnistNormalization } from "./mnist-normalization.js"
import { OwnDataError } from "./own-data-error.js"
import type { DataSource } from "./source.js"

export const mnistSource = {
  name: "mnist",
  description:
    "MNIST digits, 28×28 with labels: a folder of the four IDX files, --download, or the 10,000 digits embedded in the package",
  reads: {
    what: "folder",
    required: false,
    help: "a folder of the four MNIST IDX files (.gz or raw); none: the embedded digits"
  },
  uses: ["download", "trainSize"],
  shape: { kind: "fixed", height: 28, width: 28 },
  normalization: { kind: "fixed", normalization: mnistNormalization },
  labels: true,
  presetFamily: "mnist",
  load: (request) => {
    if (request.data !== undefined && request.download === true) {
      return Effect.fail(
        new OwnDataError({
          source: "mnist",
          problem: "give either a folder of IDX files or download, not both",
          fields: ["download"]
        })
      )
    }
    const source: MnistSource =
      request.data !== undefined
        ? { kind: "dir", dir: resolve(request.data) }
        : request.download === true
          ? { kind: "download" }
          : { kind: "embedded" }
    // Imported here: the loader loads TensorFlow.js, which the command line's help does without.
    return Effect.gen(function* () {
      const { loadMnist, normalizeMnistStage, splitStage } = yield* Effect.promise(() => import("./mnist.js"))
      const data = yield* loadMnist(source)
      return {
        splits: mapSplits(splitStage(request.seed, request.trainSize)(data), (s, name) => normalizeMnistStage(name)(s)),
        describe: data.source,
        classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
      }
    })
  }
} satisfies DataSource
