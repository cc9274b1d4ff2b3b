import { atomShapes, edgeLikeThresholds, isEdgeLike, summariseAtomShapes } from "../../models/atom-shape.js"
import type { Row } from "../../data/table.js"
import type { Dataset } from "../sources/dataset.js"
import type { CodeStatistics } from "./pictures.js"

/** The per-epoch columns of metrics.arrow that describe the shapes in decoder-columns.png. */
export const atomShapeColumnNames = [
  "columnsEdgeLikeFraction",
  "columnsMedianOrientedness",
  "columnsMedianLocalisation"
] as const

const hasShape = (ds: Pick<Dataset, "height" | "width">) => ds.height >= 3 && ds.width >= 3

/**
 * Shape figures of the decoder's columns (decoderColumns: the last layer's, as decoder-columns.png
 * shows them), or nulls where the inputs are too small to be pictures.
 */
export const columnShapeFigures = (
  columns: { readonly images: Float32Array; readonly count: number },
  ds: Pick<Dataset, "height" | "width">
): Row => {
  if (!hasShape(ds)) return Object.fromEntries(atomShapeColumnNames.map((c) => [c, null]))
  const s = summariseAtomShapes(atomShapes(columns.images, columns.count, ds.height, ds.width))
  return {
    columnsEdgeLikeFraction: s.edgeLikeFraction,
    columnsMedianOrientedness: s.medianOrientedness,
    columnsMedianLocalisation: s.medianLocalisation
  }
}

export const atomTableColumns = [
  "component",
  "usage",
  "maxActivation",
  "atomNorm",
  "orientedness",
  "orientationDegrees",
  "localisation",
  "edgeLike"
] as const

/**
 * One row per code component of a trained model: how often and how strongly it is used on `ds`
 * (`stats`), and the shape of its atom in `images`, one per component (the column of A for a
 * linear decoder, D(cⱼeⱼ) − D(0) for a deeper one, as decoder-atoms.png shows it).
 */
export const atomTable = (images: Float32Array, ds: Pick<Dataset, "height" | "width">, stats: CodeStatistics) => {
  const l = stats.usage.length
  const d = ds.height * ds.width
  const shapes = hasShape(ds) ? atomShapes(images, l, ds.height, ds.width) : null
  const rows: Row[] = []
  for (let j = 0; j < l; j++) {
    let norm = 0
    for (let p = j * d; p < (j + 1) * d; p++) norm += images[p] * images[p]
    rows.push({
      component: j,
      usage: stats.usage[j],
      maxActivation: stats.max[j],
      atomNorm: Math.sqrt(norm),
      orientedness: shapes === null ? null : shapes.orientedness[j],
      orientationDegrees: shapes === null ? null : shapes.orientation[j],
      localisation: shapes === null ? null : shapes.localisation[j],
      edgeLike: shapes === null ? null : isEdgeLike(shapes, j)
    })
  }
  return { rows, summary: shapes === null ? null : { ...summariseAtomShapes(shapes), thresholds: edgeLikeThresholds } }
}

/**
 * The epochs whose column grid is kept in columns/: the first, about ten spread over the run as
 * the authors' code logs them, and the last.
 */
export const picturedEpoch = (epoch: number, epochs: number): boolean => {
  const every = Math.max(1, Math.ceil(epochs / 10))
  return epoch === 0 || (epoch + 1) % every === 0 || epoch + 1 === epochs
}
