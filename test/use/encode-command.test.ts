/** experiments/encode.ts as a person runs it: a run folder and new inputs in, an Arrow table of codes out. */
import { describe, expect, it } from "@effect/vitest"
import {
  Field,
  FixedSizeList,
  Float32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC
} from "apache-arrow"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { loadModel } from "../../src/pipeline/use/loaded-model.js"
import { runToEnd } from "../helpers/commands.js"
import { env } from "../helpers/mnist-runs.js"
import { pixelsOf, smallRun } from "./small-run.js"

const encodeCommand = (...args: string[]) =>
  runToEnd(process.execPath, ["--import", "tsx", "experiments/encode.ts", "--backend", "wasm", ...args], 180_000)

const codeRows = (values: Float32Array, dim: number) =>
  Array.from({ length: values.length / dim }, (_, r) => Array.from(values.subarray(r * dim, (r + 1) * dim)))

describe("the encode command", () => {
  it.effect("writes the codes of image files and of an Arrow file's rows as an Arrow table", () =>
    Effect.gen(function* () {
      const { data, out } = yield* smallRun
      const dir = mkdtempSync(join(tmpdir(), "encode-"))
      const images = join(dir, "images")
      mkdirSync(images)
      const pixels = Float32Array.from(
        pixelsOf(data.test, 3),
        (p) => Math.round(Math.min(1, Math.max(0, p)) * 255) / 255
      )
      for (let i = 0; i < 3; i++) {
        const bytes = Buffer.from(Array.from(pixels.subarray(i * 784, (i + 1) * 784), (p) => Math.round(p * 255)))
        yield* Effect.promise(() =>
          sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toFile(join(images, `${i}.png`))
        )
      }
      const expected = yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel(out)
          return { encoder: yield* model.encode(pixels), inferred: yield* model.infer(pixels) }
        })
      )

      const fromImages = join(dir, "images.arrow")
      const first = yield* Effect.promise(() =>
        encodeCommand("--run", out, "--images", images, "--codes", "encoder", "--out", fromImages)
      )
      expect(first.status, first.stderr).toBe(0)
      const table = tableFromIPC(readFileSync(fromImages))
      expect(table.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual([
        "code: FixedSizeList[16]<Float32>",
        "source: Utf8"
      ])
      expect(table.getChild("source")!.toArray()).toEqual([0, 1, 2].map((i) => join(images, `${i}.png`)))
      expect(table.schema.metadata.get("codes")).toBe("encoder")
      const codes = codeRows(table.getChild("code")!.data[0].children[0].values as Float32Array, 16)
      codes.flat().forEach((v, i) => expect(Math.abs(v - expected.encoder[i])).toBeLessThan(1e-5))

      // The same rows from an Arrow file, inferred this time, named by their row.
      const type = new FixedSizeList(784, new Field("item", new Float32(), false))
      const schema = new Schema([new Field("pixels", type, false)])
      const column = makeData({
        type,
        length: 3,
        nullCount: 0,
        child: makeData({ type: new Float32(), length: pixels.length, data: pixels })
      })
      const rowsFile = join(dir, "rows.arrow")
      writeFileSync(
        rowsFile,
        tableToIPC(
          new Table([
            new RecordBatch(
              schema,
              makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [column] })
            )
          ]),
          "file"
        )
      )
      const fromRows = join(dir, "rows-codes.arrow")
      const second = yield* Effect.promise(() =>
        encodeCommand("--checkpoint", join(out, "checkpoint.safetensors"), "--arrow", rowsFile, "--out", fromRows)
      )
      expect(second.status, second.stderr).toBe(0)
      const inferred = tableFromIPC(readFileSync(fromRows))
      expect(Array.from(inferred.getChild("row")!.toArray() as Int32Array)).toEqual([0, 1, 2])
      expect(inferred.schema.metadata.get("codes")).toBe("inferred")
      const values = inferred.getChild("code")!.data[0].children[0].values as Float32Array
      Array.from(values).forEach((v, i) => expect(Math.abs(v - expected.inferred[i])).toBeLessThan(1e-4))

      const refused = yield* Effect.promise(() =>
        encodeCommand(
          "--run",
          out,
          "--checkpoint",
          join(out, "checkpoint.safetensors"),
          "--arrow",
          rowsFile,
          "--out",
          join(dir, "x.arrow")
        )
      )
      expect(refused.status).toBe(1)
      expect(refused.stderr).toContain(
        "error: option --run: give the model as exactly one of --run FOLDER or --checkpoint FILE"
      )
    }).pipe(Effect.provide(env()))
  )
})
