/**
 * Bad input to the MNIST command, each refused with a typed error whose message names the file or
 * option and the way out: damaged IDX files, a metrics table of another shape, checkpoints of
 * another model or damaged, option values out of range, an output folder that cannot be made,
 * and resumes that would change the run. The command runs in-process (the message is what the
 * shell prints after "error: "); the full list is printed at the end for the record.
 */
import { ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { readPatchFile } from "../../src/data/patch-file.js"
import { decodeSafetensors, encodeSafetensors } from "../../src/data/safetensors.js"
import { tableToArrowIpc } from "../../src/data/table.js"
import { mnistCli, trainCommand } from "../../src/cli/commands/train.js"
import { commandChoices } from "../../src/cli/option-usage.js"
import { readCheckpoint } from "../../src/pipeline/train/checkpoint.js"
import { readRunFolder, runModel } from "../../src/pipeline/evaluation/run-folder.js"
import { commandLineError } from "../../src/cli/run-main.js"
import { buildPatchFile } from "../../src/pipeline/patches/build.js"
import { ProgressSilent } from "../../src/pipeline/train/progress.js"
import { encodeIdx, encodeImages, encodeLabels, gzip } from "../helpers/idx-writer.js"
import { texture, writePhotos } from "../helpers/photos.js"
import { repoRoot, runCli } from "../helpers/commands.js"
import { env } from "../helpers/mnist-runs.js"

/** The options of the train command that take one of a few names, read from its option definitions. */
const choiceFlags = commandChoices(trainCommand("mnist"))

const fixture = join(repoRoot, "test", "fixtures", "mnist-small")
const root = mkdtempSync(join(tmpdir(), "bad-input-"))
const record: Array<[string, string]> = []

afterAll(() => {
  console.info(record.map(([what, message]) => `- ${what}\n  ${message}`).join("\n"))
})

/** Runs the command and expects it to fail with exactly this message; records it. */
const refused = (what: string, args: readonly string[], tag: string, message: string) =>
  Effect.gen(function* () {
    const result = yield* runCli(...args)
    record.push([what, result.message])
    expect(result).toEqual({ ok: false, tag, message })
  })

/** A copy of the small MNIST folder with one file replaced by raw bytes. */
const mnistWith = (file: string, bytes: Uint8Array) => {
  const dir = mkdtempSync(join(root, "mnist-"))
  cpSync(fixture, dir, { recursive: true })
  rmSync(join(dir, `${file}.gz`))
  writeFileSync(join(dir, file), bytes)
  return dir
}

const image = (count: number, rows = 28, cols = 28) =>
  encodeImages(count, rows, cols, new Uint8Array(count * rows * cols))
const tiny = ["--model", "sdl", "--code-dim", "8", "--batch-size", "10", "--epochs", "1", "--backend", "wasm"]

describe("bad IDX files", () => {
  it.effect("truncated, wrong magic, wrong dimensions, swapped, mismatched, corrupt gzip, bad labels", () =>
    Effect.gen(function* () {
      const run = (dir: string) => [...tiny, "--mnist-dir", dir, "--out", join(dir, "run")]
      const images = "train-images-idx3-ubyte"
      const labels = "train-labels-idx1-ubyte"
      let dir = mnistWith(images, image(20).subarray(0, 16 + 20 * 784 - 100))
      yield* refused(
        "truncated images file",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: expected 15680 bytes of pixel data after the header, found 15580: the file is truncated; download it again`
      )
      dir = mnistWith(images, image(20).subarray(0, 10))
      yield* refused(
        "images file cut inside its header",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: the images header needs 16 bytes but the file has only 10: the file is truncated; download it again`
      )
      dir = mnistWith(images, encodeIdx(0x12345678, [20, 28, 28], new Uint8Array(20 * 784)))
      yield* refused(
        "images file with a wrong magic number",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: found magic number 0x12345678, which is not an IDX magic number (its first two bytes must be zero). Expected 0x00000803 (images) or 0x00000801 (labels); check that this is an MNIST IDX file`
      )
      dir = mnistWith(images, encodeIdx(0x00000d03, [20, 28, 28], new Uint8Array(20 * 784)))
      yield* refused(
        "images file declaring float data",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: found magic number 0x00000d03, which declares data type 0x0d; only unsigned bytes (0x08) are supported. Expected 0x00000803 (images) or 0x00000801 (labels); check that this is an MNIST IDX file`
      )
      dir = mnistWith(images, encodeIdx(0x00000802, [20, 784], new Uint8Array(20 * 784)))
      yield* refused(
        "images file with 2 dimensions",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: found magic number 0x00000802, which declares 2 dimensions; MNIST images have 3 and labels have 1. Expected 0x00000803 (images) or 0x00000801 (labels); check that this is an MNIST IDX file`
      )
      dir = mnistWith(images, image(20, 20, 20))
      yield* refused(
        "20×20 images",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: images are 20×20 but MNIST images are 28×28; this is not MNIST`
      )
      dir = mnistWith(images, encodeLabels(new Uint8Array(20)))
      yield* refused(
        "a labels file where the images should be",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: this is an IDX labels file but its name says images; the files may have been renamed or swapped`
      )
      dir = mnistWith(labels, encodeLabels(new Uint8Array(19)))
      yield* refused(
        "19 labels for 20 images",
        run(dir),
        "DataSourceError",
        `Cannot load MNIST from folder ${dir}: ${join(dir, `${images}.gz`)} holds 20 images but ${join(dir, labels)} holds 19 labels; the two files do not belong together, download them again`
      )
      dir = mnistWith(labels, encodeLabels(Uint8Array.from({ length: 20 }, (_, i) => (i === 5 ? 12 : 1))))
      yield* refused(
        "a label of 12",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, labels)}: label 5 is 12, but MNIST labels are digits 0..9; the file is corrupt`
      )
      const gz = gzip(image(20))
      dir = mnistWith(images, gz.subarray(0, gz.length - 30))
      yield* refused(
        "a gzipped images file cut short",
        run(dir),
        "IdxFormatError",
        `Invalid IDX file ${join(dir, images)}: corrupt gzip stream (unexpected end of file): the file is damaged or truncated; download it again`
      )
    })
  )
})

describe("bad options", () => {
  it.effect("values out of range name the option and what is allowed", () =>
    Effect.gen(function* () {
      const out = ["--out", join(root, "never")]
      yield* refused(
        "--epochs 0",
        ["--epochs", "0", ...out],
        "ConfigError",
        "option --epochs: 0 is not allowed: give a whole number of epochs, 1 or more"
      )
      yield* refused(
        "--train-size -5",
        ["--train-size", "-5", ...out],
        "ConfigError",
        "option --train-size: -5 is not allowed: give a number of training images, 1 or more (and at least one batch)"
      )
      yield* refused(
        "--epochs -1",
        ["--epochs", "-1", ...out],
        "ConfigError",
        "option --epochs: -1 is not allowed: give a whole number of epochs, 1 or more"
      )
      yield* refused(
        "--lambda -1",
        ["--lambda", "-1", ...out],
        "ConfigError",
        "option --lambda: Expected a non-negative number, actual -1"
      )
      yield* refused(
        "--lambda NaN",
        ["--lambda", "NaN", ...out],
        "ConfigError",
        "option --lambda: Expected a non-negative number, actual NaN"
      )
      yield* refused(
        "--batch-size 1",
        ["--batch-size", "1", ...out],
        "ConfigError",
        "option --batch-size: Expected a number greater than or equal to 2, actual 1"
      )
      yield* refused(
        "--eta abc",
        ["--eta", "abc", ...out],
        "ConfigError",
        'option --eta: "abc" is not allowed: give a positive number, or "lipschitz" for the step 1/L'
      )
      yield* refused(
        "--eta 200 (vdl)",
        ["--eta", "200", ...out],
        "ConfigError",
        'option --eta: a fixed step of 200 makes inference diverge with γ = 5 and l = 128 (it must stay below l/γ = 25.6); lower it, or use "lipschitz"'
      )
      yield* refused(
        "--hidden 1,x",
        ["--hidden", "1,x", ...out],
        "ConfigError",
        'option --hidden: "1,x" is not allowed: give hidden widths as positive integers separated by commas (1024 or 1024,512), or "none" for a linear decoder'
      )
      yield* refused(
        "--batch-size 50 with --train-size 20",
        ["--model", "sdl", "--code-dim", "8", "--batch-size", "50", "--train-size", "20", "--backend", "wasm", ...out],
        "ConfigError",
        "option --batch-size: a batch of 50 is more than the 20 training images, so an epoch would have no batch; lower --batch-size or use more images (--train-size)"
      )
    })
  )

  it.effect("values the command-line parser refuses are named after the option", () =>
    Effect.gen(function* () {
      for (const [what, args, shown] of [
        [
          "--seed 1.5",
          ["--seed", "1.5"],
          "error: option --seed is not valid ('1.5' is not an integer). Run with --help for every option and the values it takes."
        ],
        [
          "--lambda nan",
          ["--lambda", "nan"],
          "error: option --lambda is not valid ('nan' is not a float). Run with --help for every option and the values it takes."
        ],
        [
          "--backend foo",
          ["--backend", "foo"],
          'error: option --backend: "foo" is not allowed; choose one of tensorflow-gpu, tensorflow, wasm, cpu. Run with --help for every option and the values it takes.'
        ],
        [
          "--unit-norm maybe",
          ["--unit-norm", "maybe"],
          'error: option --unit-norm: "maybe" is not allowed; choose one of yes, no. Run with --help for every option and the values it takes.'
        ],
        [
          "--model foo",
          ["--model", "foo"],
          'error: option --model: "foo" is not allowed; choose one of sdl, sdl-nl, vdl, vdl-nl, wdl, wdl-nl, noreg. Run with --help for every option and the values it takes.'
        ]
      ] as const) {
        const failure = yield* Effect.flip(
          mnistCli(["node", "mnist", ...args]).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressSilent)))
        )
        if (!ValidationError.isValidationError(failure))
          throw new Error(`expected a ValidationError, got ${String(failure)}`)
        const text = commandLineError(failure, args, choiceFlags)
        record.push([what, text])
        expect(text).toBe(shown)
      }
    })
  )
})

describe("photos that cannot be decoded", () => {
  const photoRoot = join(root, "photos")
  const good = Effect.promise(() =>
    writePhotos(photoRoot, [
      texture("a.png", 90, 80, 1),
      texture("b.jpg", 80, 100, 2),
      texture("c.png", 100, 90, 3)
    ]).then(() => {
      const png = readFileSync(join(photoRoot, "c.png"))
      writeFileSync(join(photoRoot, "broken.jpg"), "this is not a JPEG\n")
      writeFileSync(join(photoRoot, "cut.png"), png.subarray(0, Math.floor(png.length / 2)))
    })
  )
  let builds = 0
  const build = (badImages: "error" | "skip" | undefined, images = [photoRoot]) =>
    buildPatchFile({
      images,
      testImages: [],
      out: join(root, `patches-${builds++}.arrow`),
      sizes: { train: 30, val: 10, test: 10 },
      seed: 3,
      ...(badImages === undefined ? {} : { badImages })
    }).pipe(Effect.provide(ProgressSilent))

  it.effect("stop the build with an error that names the photo and --bad-images skip, by default and with error", () =>
    Effect.gen(function* () {
      yield* good
      for (const policy of [undefined, "error"] as const) {
        const failed = yield* Effect.flip(build(policy))
        record.push([`patches build: undecodable photos, --bad-images ${policy ?? "not given"}`, failed.message])
        expect(failed._tag).toBe("ImageReadError")
        expect(failed.message).toMatch(
          new RegExp(
            `^cannot read ${photoRoot}/(broken\\.jpg|cut\\.png): .+; the file is not a readable JPEG or PNG \\(remove it from the folder or convert it\\)\\. To leave out every photo that cannot be read instead \\(they are counted in the log and the build report\\), pass --bad-images skip$`
          )
        )
      }
    })
  )

  it.effect("are left out and counted with --bad-images skip; a set with no readable photo is refused", () =>
    Effect.gen(function* () {
      yield* good
      const report = yield* build("skip")
      record.push([
        "patches build: undecodable photos, --bad-images skip",
        `built; report.images.skipped = ${JSON.stringify(report.images.skipped.map((s) => s.path))}`
      ])
      expect(report.images.skipped.map((s) => s.path).sort()).toEqual([
        join(photoRoot, "broken.jpg"),
        join(photoRoot, "cut.png")
      ])
      for (const s of report.images.skipped) expect(s.problem).toMatch(/the file is not a readable JPEG or PNG/)
      const file = yield* readPatchFile(report.out)
      expect([file.splits.train.rows, file.splits.val.rows, file.splits.test.rows]).toEqual([30, 10, 10])
      const sources = new Set([...file.splits.train.source, ...file.splits.val.source, ...file.splits.test.source])
      expect([...sources].filter((p) => /broken|cut/.test(p))).toEqual([])

      // The broken photos are left out before the photos are split: the same patches as from a folder without them.
      const clean = join(root, "clean")
      mkdirSync(clean, { recursive: true })
      for (const f of ["a.png", "b.jpg", "c.png"]) copyFileSync(join(photoRoot, f), join(clean, f))
      const twin = yield* readPatchFile((yield* build("skip", [clean])).out)
      for (const split of ["train", "val", "test"] as const)
        expect(twin.splits[split].patch).toEqual(file.splits[split].patch)

      const onlyBroken = join(root, "only-broken")
      mkdirSync(onlyBroken, { recursive: true })
      copyFileSync(join(photoRoot, "broken.jpg"), join(onlyBroken, "broken.jpg"))
      copyFileSync(join(photoRoot, "cut.png"), join(onlyBroken, "cut.png"))
      const none = yield* Effect.flip(build("skip", [onlyBroken]))
      record.push(["patches build: only undecodable photos, --bad-images skip", none.message])
      expect(none.message).toBe(
        `cannot build the patch data set: none of the photos in ${onlyBroken} can be read (all were skipped, see the warnings above); use other photos`
      )
    })
  )
})

describe("bad output folders", () => {
  it.effect("a path under a regular file, and a regular file", () =>
    Effect.gen(function* () {
      const file = join(root, "a-file")
      writeFileSync(file, "not a folder")
      yield* refused(
        "--out under a regular file",
        ["--out", join(file, "run")],
        "WriteError",
        `Could not write ${join(file, "run")}: a part of the path, ${file}, is a file, not a folder. Check that the folder exists and is writable, or pass another --out.`
      )
      yield* refused(
        "--out a regular file",
        ["--out", file],
        "WriteError",
        `Could not write ${file}: it is a file, not a folder. Check that the folder exists and is writable, or pass another --out.`
      )
    })
  )
})

describe("bad run folders to resume", () => {
  it.effect("damaged metrics, checkpoints of another model, damaged checkpoints, conflicting options", () =>
    Effect.gen(function* () {
      const base = join(root, "base")
      expect(
        yield* runCli(
          "--model",
          "sdl",
          "--code-dim",
          "8",
          "--batch-size",
          "50",
          "--train-size",
          "100",
          "--epochs",
          "1",
          "--backend",
          "wasm",
          "--seed",
          "4",
          "--out",
          base
        )
      ).toEqual({ ok: true, message: "" })
      const other = join(root, "other")
      expect(
        yield* runCli(
          "--model",
          "sdl",
          "--code-dim",
          "4",
          "--batch-size",
          "50",
          "--train-size",
          "100",
          "--epochs",
          "1",
          "--backend",
          "wasm",
          "--out",
          other
        )
      ).toEqual({ ok: true, message: "" })
      let n = 0
      const copy = () => {
        const dir = join(root, `copy-${n++}`)
        cpSync(base, dir, { recursive: true })
        return dir
      }
      const resume = (dir: string, ...more: string[]) => ["--resume", dir, "--epochs", "2", ...more]

      let dir = copy()
      writeFileSync(join(dir, "metrics.arrow"), "epoch,seconds\n1,2\n")
      yield* refused(
        "metrics.arrow that is not Arrow",
        resume(dir),
        "MetricsFileError",
        `metrics file ${join(dir, "metrics.arrow")}: it cannot be read as an Arrow table (Expected to read 1668247653 metadata bytes, but only read 14.). Restore the file written by the run, or start a new run`
      )
      dir = copy()
      writeFileSync(join(dir, "metrics.arrow"), tableToArrowIpc([{ epoch: 1, seconds: 2, valEnergy: 1 }]))
      yield* refused(
        "metrics.arrow lacking columns",
        resume(dir),
        "MetricsFileError",
        `metrics file ${join(dir, "metrics.arrow")}: it lacks the columns samplesPerSecond, meanFistaSteps, trainEnergy, trainPsnr, trainZeroFraction, trainHiddenZeroFraction, valPsnr, valZeroFraction, valHiddenZeroFraction (it has epoch, seconds, valEnergy): it was not written by a training run. Restore the file written by the run, or start a new run`
      )
      dir = copy()
      const full = {
        epoch: 1,
        seconds: 1,
        samplesPerSecond: 1,
        meanFistaSteps: 1,
        trainEnergy: 1,
        trainPsnr: 1,
        trainZeroFraction: 1,
        trainHiddenZeroFraction: null,
        valEnergy: 1,
        valPsnr: 1,
        valZeroFraction: 1,
        valHiddenZeroFraction: null
      }
      writeFileSync(join(dir, "metrics.arrow"), tableToArrowIpc([{ ...full, valPsnr: "high" }]))
      yield* refused(
        "metrics.arrow with text in a number column",
        resume(dir),
        "MetricsFileError",
        `metrics file ${join(dir, "metrics.arrow")}: column valPsnr holds the text "high" in row 1, where a run writes a number. Restore the file written by the run, or start a new run`
      )
      dir = copy()
      writeFileSync(join(dir, "metrics.arrow"), tableToArrowIpc([{ ...full, epoch: 7 }]))
      yield* refused(
        "metrics.arrow with rows misnumbered",
        resume(dir),
        "MetricsFileError",
        `metrics file ${join(dir, "metrics.arrow")}: row 1 is numbered epoch 7; a run numbers its rows 1, 2, 3, …. Restore the file written by the run, or start a new run`
      )

      dir = copy()
      copyFileSync(join(other, "checkpoint.safetensors"), join(dir, "checkpoint.safetensors"))
      yield* refused(
        "checkpoint.safetensors of another code size",
        resume(dir),
        "ResumeError",
        `cannot resume the run in ${dir}: checkpoint.safetensors (sdl, code size 4, hidden widths []) and last.safetensors (sdl, code size 8, hidden widths []) are checkpoints of different models, so one of them is not this run's. Put back the run's own file, or start a new run`
      )
      // An evaluation reads the best checkpoint alone: it is checked against the run's summary.json.
      const evaluated = yield* Effect.flip(
        Effect.scoped(readRunFolder(dir).pipe(Effect.flatMap(runModel))).pipe(Effect.provide(env("wasm")))
      )
      record.push(["an evaluation of a run whose checkpoint.safetensors is of another code size", evaluated.message])
      expect(evaluated.message).toBe(
        `checkpoint ${join(dir, "checkpoint.safetensors")}: it is a checkpoint of sdl, code size 4, hidden widths [], 3 LISTA steps, but the run's summary.json describes sdl, code size 8, hidden widths [], 3 LISTA steps: it is not this run's checkpoint. Put back the run's own checkpoint.safetensors, or evaluate the run it belongs to`
      )
      dir = copy()
      const metrics = readFileSync(join(dir, "metrics.arrow"))
      writeFileSync(join(dir, "metrics.arrow"), metrics.subarray(0, metrics.length >> 1))
      yield* refused(
        "metrics.arrow cut in half",
        resume(dir),
        "MetricsFileError",
        `metrics file ${join(dir, "metrics.arrow")}: it cannot be read as an Arrow table (it is truncated or damaged). Restore the file written by the run, or start a new run`
      )
      // A damaged best checkpoint of the epoch last.safetensors holds is rewritten from it, with a warning.
      dir = copy()
      writeFileSync(join(dir, "checkpoint.safetensors"), "garbage")
      expect(yield* runCli(...resume(dir))).toEqual({ ok: true, message: "" })
      record.push([
        "checkpoint.safetensors garbage, last.safetensors holding the best epoch",
        "resumed; checkpoint.safetensors rewritten from last.safetensors (a warning says so)"
      ])
      expect((yield* readCheckpoint(join(dir, "checkpoint.safetensors"))).settings.codeDim).toBe(8)
      dir = copy()
      const edited = decodeSafetensors(new Uint8Array(readFileSync(join(dir, "last.safetensors"))), "last")
      if (edited._tag === "Left") throw new Error(edited.left.message)
      const settings = { ...JSON.parse(edited.right.metadata.settings), codeDim: 16 }
      writeFileSync(
        join(dir, "last.safetensors"),
        encodeSafetensors(edited.right.tensors, { ...edited.right.metadata, settings: JSON.stringify(settings) })
      )
      yield* refused(
        "last.safetensors whose tensors are of another shape than its settings",
        resume(dir),
        "CheckpointError",
        `checkpoint ${join(dir, "last.safetensors")}: tensor encoder.W has shape [784,8] but its settings (code size 16, hidden widths [], input size 784) call for [784,16]: the file is damaged or was edited. Use another checkpoint, or start a new run`
      )
      dir = copy()
      const last = readFileSync(join(dir, "last.safetensors"))
      writeFileSync(join(dir, "last.safetensors"), last.subarray(0, last.length - 1000))
      yield* refused(
        "last.safetensors truncated",
        resume(dir),
        "CheckpointError",
        expect.stringMatching(
          new RegExp(
            `^checkpoint ${join(dir, "last.safetensors")}: tensor \\S+: byte range \\[\\d+, \\d+\\) does not hold \\d+ float32 values within the \\d+ data bytes\\. It is damaged or not a checkpoint; use another one, or start a new run$`
          )
        ) as never
      )
      dir = copy()
      const flipped = Buffer.from(last)
      flipped[flipped.length - 5] ^= 0x10
      writeFileSync(join(dir, "last.safetensors"), flipped)
      yield* refused(
        "last.safetensors with one bit flipped in a weight",
        resume(dir),
        "CheckpointError",
        `checkpoint ${join(dir, "last.safetensors")}: its tensor data does not match the SHA-256 recorded when it was written: the file is damaged. Use another checkpoint, or start a new run`
      )
      dir = copy()
      writeFileSync(join(dir, "last.safetensors"), "garbage")
      yield* refused(
        "last.safetensors of 7 bytes",
        resume(dir),
        "CheckpointError",
        `checkpoint ${join(dir, "last.safetensors")}: the file has 7 bytes, fewer than the 8-byte header length. It is damaged or not a checkpoint; use another one, or start a new run`
      )
      dir = copy()
      rmSync(join(dir, "last.safetensors"))
      yield* refused(
        "a run folder without last.safetensors",
        resume(dir),
        "ResumeError",
        `cannot resume the run in ${dir}: it has checkpoint.safetensors but no last.safetensors: it was written by a version that could not resume. Start a new run`
      )
      yield* refused(
        "--resume a folder that does not exist",
        resume(join(root, "nowhere")),
        "ResumeError",
        `cannot resume the run in ${join(root, "nowhere")}: the folder does not exist. Pass the folder of a training run`
      )

      const conflict = (option: string, stored: string, given: string) =>
        `option ${option}: the run in ${base} was trained with ${option} ${stored}, not ${given}; a resumed run keeps its settings (only --epochs may change). Drop ${option} to continue it, or start a new run with another --out`
      yield* refused(
        "--resume with another --lambda",
        resume(base, "--lambda", "0.5"),
        "ConfigError",
        conflict("--lambda", "0.005", "0.5")
      )
      yield* refused(
        "--resume with another --model",
        resume(base, "--model", "vdl"),
        "ConfigError",
        conflict("--model", "sdl", "vdl")
      )
      yield* refused(
        "--resume with another --seed",
        resume(base, "--seed", "5"),
        "ConfigError",
        conflict("--seed", "4", "5")
      )
      yield* refused(
        "--resume with another --code-dim",
        resume(base, "--code-dim", "16"),
        "ConfigError",
        conflict("--code-dim", "8", "16")
      )
      yield* refused(
        "--resume with another --backend",
        resume(base, "--backend", "cpu"),
        "ConfigError",
        conflict("--backend", "wasm", "cpu")
      )
      yield* refused(
        "--resume with --mnist-dir",
        resume(base, "--mnist-dir", fixture),
        "ConfigError",
        `option --mnist-dir: the run in ${base} was trained on the embedded digits, not --mnist-dir ${fixture}; a resumed run keeps its data. Drop the option to continue it, or start a new run with another --out`
      )
    })
  )
})
