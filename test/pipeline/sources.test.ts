/**
 * The data source registry: every registered source loads a small fixture into splits of the
 * shape it declares, with labels exactly when it declares them; a request field a source does
 * not read is refused naming it; a variant without a preset for a source's family starts from
 * the default family's.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openPatchWriter, type PatchRows } from "../../src/data/patch-file.js"
import { codeTableToArrowIpc } from "../../src/data/vector-file.js"
import type { ModelSettings } from "../../src/models/settings.js"
import {
  DEFAULT_PRESET_FAMILY,
  presetFor,
  type Variant,
  type VariantName,
  variants
} from "../../src/models/variants.js"
import {
  loadSource,
  dataSources,
  requestProblem,
  sourceNames,
  type SourceName
} from "../../src/pipeline/sources/registry.js"
import type { SourceRequest } from "../../src/pipeline/sources/source.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"
import { labelledClasses, writeLabelledFolder } from "../helpers/labelled-images.js"

const root = mkdtempSync(join(tmpdir(), "sources-"))

const patchFile = (path: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dim = 784
      const count = 9
      const rows: PatchRows = {
        count,
        patch: Float32Array.from({ length: count * dim }, (_, i) => Math.sin(i)),
        mean: new Float32Array(count * dim),
        scale: new Float32Array(count * dim).fill(1),
        source: Array.from({ length: count }, (_, i) => `photo-${i}.png`),
        top: new Int32Array(count),
        left: new Int32Array(count),
        split: Array.from({ length: count }, (_, i) => (["train", "val", "test"] as const)[i % 3])
      }
      const w = yield* openPatchWriter(path, dim)
      yield* w.append(rows)
      yield* w.commit
      return path
    })
  )

/** A request for each source on a fixture of its own, and the image shape the fixture has. */
const fixtures = (): Effect.Effect<
  Record<SourceName, { readonly request: SourceRequest; readonly shape: readonly [number, number] }>,
  unknown
> =>
  Effect.gen(function* () {
    const labelled = writeLabelledFolder(join(root, "labelled"), 10, 8)
    const arrow = join(root, "rows.arrow")
    writeFileSync(
      arrow,
      codeTableToArrowIpc(
        Float32Array.from({ length: 30 * 24 }, (_, i) => (i % 7) / 7),
        24,
        { kind: "row", indices: Int32Array.from({ length: 30 }, (_, i) => i) },
        { shape: "4,6" }
      )
    )
    return {
      mnist: { request: { seed: 1, trainSize: 50 }, shape: [28, 28] },
      patches: { request: { seed: 1, data: yield* patchFile(join(root, "patches.arrow")) }, shape: [28, 28] },
      images: { request: { seed: 1, data: join(labelled, labelledClasses[0]), size: 6 }, shape: [6, 6] },
      arrow: { request: { seed: 1, data: arrow }, shape: [4, 6] },
      "labelled-images": { request: { seed: 1, data: labelled }, shape: [8, 8] }
    }
  })

describe("the data source registry", () => {
  it.effect(
    "each source loads splits of its declared shape, with labels exactly when it declares them",
    () =>
      Effect.gen(function* () {
        const all = yield* fixtures()
        expect(Object.keys(all).sort()).toEqual([...sourceNames].sort())
        for (const name of sourceNames) {
          const source = dataSources[name]
          expect(source.name).toBe(name)
          const { request, shape } = all[name]
          const { splits } = yield* loadSource(name, request)
          for (const split of [splits.train, splits.val, splits.test]) {
            expect([split.height, split.width], `${name} ${split.name}`).toEqual(shape)
            expect(split.dim).toBe(shape[0] * shape[1])
            expect(split.rows).toBeGreaterThan(0)
            expect(split.labels !== null, `${name} ${split.name} labels`).toBe(source.labels)
            if (split.labels !== null) expect(split.labels.length).toBe(split.rows)
          }
          if (source.shape.kind === "fixed") expect([source.shape.height, source.shape.width]).toEqual(shape)
          if (source.normalization.kind === "fixed")
            expect(splits.train.normalization).toEqual(source.normalization.normalization)
        }
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.effect(
    "a labelled folder's labels follow its rows through the split, classes in sorted order of their folders",
    () =>
      Effect.gen(function* () {
        const dir = writeLabelledFolder(join(root, "split-labels"), 10, 8, 4)
        const loaded = yield* loadSource("labelled-images", { seed: 2, data: dir, normalize: "none" })
        expect(loaded.classes).toEqual(labelledClasses)
        // Class "down" lights the middle columns and "across" the middle rows: each row's label says which its pixels show.
        for (const split of [loaded.splits.train, loaded.splits.val, loaded.splits.test]) {
          for (let r = 0; r < split.rows; r++) {
            const px = (i: number, j: number) => split.x[r * 64 + i * 8 + j]
            const middleRow = px(4, 0) + px(4, 1) + px(4, 6) + px(4, 7)
            const middleColumn = px(0, 4) + px(1, 4) + px(6, 4) + px(7, 4)
            const shows = middleRow > 1.6 ? "across" : middleColumn > 1.6 ? "down" : "cross"
            expect(labelledClasses[split.labels![r]]).toBe(shows)
          }
        }
      }).pipe(Effect.provide(NodeContext.layer))
  )

  it("refuses a request field the source does not read, and a missing data where it needs one", () => {
    expect(requestProblem(dataSources.arrow, { seed: 1, data: "x.arrow", size: 28 })?.message).toBe(
      "data arrow: it does not take size (it takes data, column, trainSize, valFraction, testFraction, normalize); drop it"
    )
    expect(requestProblem(dataSources.arrow, { seed: 1, data: "x.arrow", size: 28 })?.fields).toEqual(["size"])
    expect(requestProblem(dataSources["labelled-images"], { seed: 1 })?.message).toBe(
      "data labelled-images: it reads a folder with one subfolder per class: FOLDER/CLASS/IMAGE.png; give it as data"
    )
    expect(requestProblem(dataSources.mnist, { seed: 1 })).toBeNull()
    expect(requestProblem(dataSources.mnist, { seed: 1, normalize: "none", column: "c" })?.fields).toEqual([
      "normalize",
      "column"
    ])
  })

  it.effect("an unknown source name is refused with the names there are", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(loadSource("faces", { seed: 1 }))
      expect(e.message).toBe(
        `data faces: there is no data source of this name; choose one of ${sourceNames.join(", ")}`
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("presets by family", () => {
  it("a variant's own family when it has one, else the default family's", () => {
    expect(presetFor(variants.vdl, "patches")).toEqual({ settings: variants.vdl.settings.patches, family: "patches" })
    expect(presetFor(variants.vdl, "images")).toEqual({
      settings: variants.vdl.settings.mnist,
      family: DEFAULT_PRESET_FAMILY
    })
    // Inherited names of a plain object are not families.
    expect(presetFor(variants.vdl, "toString").family).toBe(DEFAULT_PRESET_FAMILY)
    const only: Variant = {
      name: "only-mnist",
      description: "a variant with one preset",
      settings: { mnist: { ...variants.sdl.settings.mnist, codeDim: 7 } as ModelSettings }
    }
    expect(presetFor(only, "patches").settings.codeDim).toBe(7)
  })

  it.effect("every registered source resolves settings for every variant, its family's or the fallback", () =>
    Effect.gen(function* () {
      for (const name of sourceNames) {
        const family = dataSources[name].presetFamily
        for (const model of Object.keys(variants) as VariantName[]) {
          const settings = yield* resolveSettings(model, family, { lambda: 0.0123 })
          const presets: Readonly<Record<string, object | undefined>> = variants[model].settings
          expect(settings).toEqual({ ...(presets[family] ?? variants[model].settings.mnist), lambda: 0.0123 })
        }
      }
      expect(yield* resolveSettings("vdl", "images", {})).toEqual(variants.vdl.settings.mnist)
    })
  )

  it("the derived variants carry every family of their base", () => {
    for (const [derived, base] of [
      ["wdl", "sdl"],
      ["wdl-nl", "sdl-nl"],
      ["noreg", "vdl"]
    ] as const) {
      expect(Object.keys(variants[derived].settings).sort()).toEqual(Object.keys(variants[base].settings).sort())
    }
  })
})
