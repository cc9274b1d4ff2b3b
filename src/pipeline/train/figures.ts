import { Effect } from "effect"
import { join } from "node:path"
import { writeFileAtomic } from "../../data/atomic-write.js"
import { imageGridPng, pairsGridPng } from "../../data/image-grid.js"
import { tableToArrowIpc, tableToCsv } from "../../data/table.js"
import { atomTable, atomTableColumns } from "../report/atom-report.js"
import type { Dataset } from "../sources/dataset.js"
import { codeStatistics, decoderAtoms, decoderColumns, reconstructionPairs } from "../report/pictures.js"

const tileCount = (n: number) => Math.ceil(Math.sqrt(n))

/** Atoms or columns as a square grid, each scaled to its own max |value|, 0 at mid-grey. */
export const atomGrid = (images: Float32Array, count: number, ds: Dataset) =>
  imageGridPng(images, {
    height: ds.height,
    width: ds.width,
    scaling: "per-image-symmetric",
    zoom: 2,
    count,
    columns: tileCount(count)
  })

/** The pictures of a trained model (docs/runs.md), as PNG files in the run folder, and the atom table. */
export const writePictures = (out: string, m: Parameters<typeof decoderColumns>[0], ds: Dataset) =>
  Effect.gen(function* () {
    const columns = decoderColumns(m)
    yield* writeFileAtomic(join(out, "decoder-columns.png"), atomGrid(columns.images, columns.count, ds))
    const stats = yield* codeStatistics(m, ds)
    const ownAtoms = decoderAtoms(m, stats.max)
    const atomImages = ownAtoms ?? columns.images
    if (ownAtoms !== null)
      yield* writeFileAtomic(join(out, "decoder-atoms.png"), atomGrid(ownAtoms, m.settings.codeDim, ds))
    const atoms = atomTable(atomImages, ds, stats)
    yield* writeFileAtomic(
      join(out, "atoms.arrow"),
      tableToArrowIpc(atoms.rows, [...atomTableColumns], { component: "int32" })
    )
    yield* writeFileAtomic(join(out, "atoms.csv"), tableToCsv(atoms.rows, [...atomTableColumns]))
    const pairs = yield* reconstructionPairs(m, ds, 32)
    yield* writeFileAtomic(
      join(out, "reconstructions.png"),
      pairsGridPng(pairs.inputs, pairs.reconstructions, {
        height: ds.height,
        width: ds.width,
        count: pairs.count,
        columns: 4,
        scaling: "range",
        range: [0, 1],
        zoom: 2
      })
    )
    return { ...stats, atomShapes: atoms.summary, atomsPicture: ownAtoms !== null }
  })
