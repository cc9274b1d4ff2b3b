/**
 * Encode new data with a trained model and write the codes as an Arrow table: a `code` column
 * (FixedSizeList<Float32>[code size]) and the image each row came from (`source`) or its row in
 * the input (`row`). Inputs are pixels in [0, 1], normalised as the model was trained.
 *   npx tsx experiments/encode.ts --run runs/vdl --images photos/ --out codes.arrow
 *   npx tsx experiments/encode.ts --checkpoint model.safetensors --arrow data.arrow --codes encoder --out codes.arrow
 *   npx tsx experiments/encode.ts --run runs/vdl --mnist-dir path/to/mnist --out test-codes.arrow
 */
import { Command, Options } from "@effect/cli"
import { commandCli } from "../entry.js"
import type { FileSystem } from "@effect/platform"
import { Effect, Option } from "effect"
import { writeFileAtomic } from "../../data/atomic-write.js"
import type { RowNames, VectorFileError } from "../../data/vector-file.js"
import type { DataSourceError, IdxFormatError } from "../../data/errors.js"
import type { ImageReadError } from "../../data/images.js"
import { ConfigError } from "../../pipeline/errors.js"
import type { LoadedModel } from "../../pipeline/use/loaded-model.js"
import { backendOption, choiceOption, zeroOrMore } from "../options.js"

const codeSources = ["inferred", "encoder"] as const

const options = {
  run: Options.text("run").pipe(
    Options.withDescription("run folder whose best epoch (checkpoint.safetensors) encodes"),
    Options.optional
  ),
  checkpoint: Options.file("checkpoint").pipe(
    Options.withDescription("a checkpoint file to encode with, instead of --run"),
    Options.optional
  ),
  images: Options.text("images").pipe(
    Options.withDescription(
      "JPEG/PNG files or folders of them (repeat it or give a comma list); each is made grey, scaled to cover the model's input size and centre-cropped"
    ),
    zeroOrMore
  ),
  arrow: Options.file("arrow").pipe(
    Options.withDescription("an Arrow IPC file with a FixedSizeList<Float32> column of pixel rows in [0, 1]"),
    Options.optional
  ),
  column: Options.text("column").pipe(
    Options.withDescription("the vector column of --arrow (default: its only FixedSizeList column)"),
    Options.optional
  ),
  mnistDir: Options.directory("mnist-dir").pipe(
    Options.withDescription("a folder of MNIST IDX files: its 10,000 test images are encoded"),
    Options.optional
  ),
  codes: choiceOption("codes", codeSources).pipe(
    Options.withDescription(
      "inferred (default: the model's inference on its energy, warm-started from the encoder, as in training) or encoder (the encoder's codes alone)"
    ),
    Options.withDefault("inferred" as const)
  ),
  out: Options.text("out").pipe(Options.withDescription("the Arrow file to write (written whole or not at all)")),
  backend: backendOption
}

type Parsed = Command.Command.ParseConfig<typeof options>

/** The readers, the model and TensorFlow.js, loaded when the command runs rather than for --help. */
const library = () =>
  Promise.all([
    import("../../data/image-rows.js"),
    import("../../data/mnist/idx-folder.js"),
    import("../../data/vector-file.js"),
    import("../../pipeline/backend/backend.js"),
    import("../../pipeline/use/loaded-model.js")
  ]).then(([images, mnist, vectors, backend, model]) => ({ ...images, ...mnist, ...vectors, ...backend, ...model }))
type Library = Awaited<ReturnType<typeof library>>

/** Repeated options and comma lists both name several paths. */
const paths = (values: readonly string[]): string[] =>
  values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "")

/** The rows to encode, in pixels, and what names each. */
const inputRows = (
  o: Parsed,
  model: LoadedModel,
  { expandImagePaths, loadMnistDir, readVectorFile }: Library
): Effect.Effect<
  { pixels: Float32Array; names: RowNames; describe: string },
  ConfigError | VectorFileError | ImageReadError | DataSourceError | IdxFormatError,
  FileSystem.FileSystem
> =>
  Effect.gen(function* () {
    const given = [paths(o.images).length > 0, Option.isSome(o.arrow), Option.isSome(o.mnistDir)].filter(Boolean).length
    if (given !== 1)
      return yield* Effect.fail(
        new ConfigError({
          option: "--images",
          problem: `give exactly one input: --images, --arrow or --mnist-dir (${given} given)`
        })
      )
    const pixelDim = model.pixelShape.height * model.pixelShape.width
    if (Option.isSome(o.arrow)) {
      const file = yield* readVectorFile(o.arrow.value, Option.getOrUndefined(o.column))
      if (file.dim !== pixelDim) {
        return yield* Effect.fail(
          new ConfigError({
            option: "--arrow",
            problem: `column ${file.column} of ${file.path} holds vectors of ${file.dim} values, but the model takes ${model.pixelShape.height}×${model.pixelShape.width} = ${pixelDim} pixels; pass data of that size`
          })
        )
      }
      return {
        pixels: file.x,
        names: { kind: "row", indices: Int32Array.from({ length: file.rows }, (_, i) => i) },
        describe: `${file.rows} rows of ${file.path} (column ${file.column})`
      }
    }
    if (Option.isSome(o.mnistDir)) {
      if (pixelDim !== 784)
        return yield* Effect.fail(
          new ConfigError({
            option: "--mnist-dir",
            problem: `the model takes ${pixelDim} pixels per row, not MNIST's 28×28; pass --images or --arrow`
          })
        )
      const data = yield* loadMnistDir(o.mnistDir.value)
      const pixels = Float32Array.from(data.test.images, (p) => p / 255)
      return {
        pixels,
        names: { kind: "row", indices: Int32Array.from({ length: data.test.count }, (_, i) => i) },
        describe: `the ${data.test.count} MNIST test images of ${o.mnistDir.value}`
      }
    }
    const files = yield* expandImagePaths(paths(o.images))
    return {
      pixels: yield* model.readImages(files),
      names: { kind: "source", names: files },
      describe: `${files.length} image(s)`
    }
  })

export const encodeCommand = Command.make("encode", options, (o) =>
  Effect.flatMap(Effect.promise(library), (lib) =>
    Effect.scoped(
      Effect.gen(function* () {
        if (Option.isSome(o.run) === Option.isSome(o.checkpoint)) {
          return yield* Effect.fail(
            new ConfigError({
              option: "--run",
              problem: "give the model as exactly one of --run FOLDER or --checkpoint FILE"
            })
          )
        }
        const source = Option.isSome(o.run) ? o.run.value : Option.getOrThrow(o.checkpoint)
        const model = yield* lib.loadModel(source)
        const input = yield* inputRows(o, model, lib)
        const codes = yield* o.codes === "encoder" ? model.encode(input.pixels) : model.infer(input.pixels)
        const metadata = {
          model: model.variant,
          checkpoint: model.file,
          codes: o.codes,
          input: JSON.stringify(model.input)
        }
        yield* writeFileAtomic(o.out, lib.codeTableToArrowIpc(codes, model.codeDim, input.names, metadata))
        yield* Effect.logInfo(`wrote ${o.out}: ${o.codes} codes (${model.codeDim} values) of ${input.describe}`)
      })
    ).pipe(Effect.provide(lib.BackendLive(Option.getOrUndefined(o.backend))))
  )
)

/** The command line as a function of argv, for running it in-process (tests) as well as from a shell. */
export const encodeCli = commandCli(encodeCommand, "encode")
