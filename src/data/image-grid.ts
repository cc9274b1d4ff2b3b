import { PNG } from "pngjs"

/**
 * How pixel values become grey levels.
 * - `per-image-symmetric`: each image is divided by its own largest |value|, so
 *   0 is mid-grey (128), the most positive pixel white and the most negative
 *   black. For dictionary atoms / decoder columns, whose sign matters and
 *   whose scale differs from atom to atom.
 * - `range`: values are clipped to `range` and mapped linearly onto 0..255, the
 *   same map for every image, so inputs and reconstructions can be compared.
 */
export type GridScaling = "per-image-symmetric" | "range"

export interface GridOptions {
  /** Images per set; each set holds `count * height * width` values, image after image, row-major. */
  readonly count: number
  readonly height: number
  readonly width: number
  /** Tiles (or groups of tiles, for pairs and rows) across; default makes the grid roughly square. */
  readonly columns?: number
  readonly scaling: GridScaling
  /** For `range` scaling; default [0, 1], the range of MNIST intensities. */
  readonly range?: readonly [number, number]
  /** Gap between tiles, in PNG pixels (not scaled by `zoom`); default 1. */
  readonly pad?: number
  /** Gap between groups in `rowsGridPng`/`pairsGridPng`, in PNG pixels; default 3 × pad, at least 2 (just pad for a single set). */
  readonly groupPad?: number
  /** Grey level (0..255) of padding and empty cells; default 64 for symmetric (mid-grey is 0 there), 128 for range. */
  readonly padValue?: number
  /** Each image pixel becomes a zoom × zoom block; default 1. */
  readonly zoom?: number
}

/** Non-finite values are drawn in this colour: a diverged model should be visible, not hidden as some grey. */
export const NON_FINITE_RGB: readonly [number, number, number] = [255, 0, 0]

const checkInteger = (name: string, value: number, min: number): void => {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`image grid: ${name} must be an integer ≥ ${min}, got ${value}`)
  }
}

/** Grey levels (or -1 for non-finite) of one image, scaled as asked. */
const toGrey = (pixels: Float32Array, scaling: GridScaling, range: readonly [number, number]): Int16Array => {
  const out = new Int16Array(pixels.length)
  if (scaling === "per-image-symmetric") {
    let maxAbs = 0
    for (const v of pixels) if (Number.isFinite(v) && Math.abs(v) > maxAbs) maxAbs = Math.abs(v)
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i]
      // 127.5 · (1 + v/max) puts 0 at 128 after rounding and ±max at exactly 255 / 0.
      out[i] = !Number.isFinite(v) ? -1 : maxAbs === 0 ? 128 : Math.round(127.5 * (1 + v / maxAbs))
    }
  } else {
    const [lo, hi] = range
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i]
      out[i] = !Number.isFinite(v) ? -1 : Math.round((255 * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo))
    }
  }
  return out
}

/**
 * Lays out image i of every set side by side as one group (e.g. clean | noisy
 * | denoised), groups in a grid of `columns` groups across, and returns PNG
 * bytes. Every set is scaled on its own terms (see `GridScaling`).
 */
export const rowsGridPng = (sets: readonly Float32Array[], opts: GridOptions): Uint8Array => {
  const { count, height, width, scaling } = opts
  const range = opts.range ?? [0, 1]
  const pad = opts.pad ?? 1
  const perGroup = sets.length
  // A lone set has no groups to tell apart, so its tiles are spaced evenly.
  const groupPad = opts.groupPad ?? (perGroup === 1 ? pad : Math.max(2, 3 * pad))
  const zoom = opts.zoom ?? 1
  const padValue = opts.padValue ?? (scaling === "per-image-symmetric" ? 64 : 128)
  const columns = opts.columns ?? Math.max(1, Math.ceil(Math.sqrt(count / Math.max(1, perGroup))))

  checkInteger("count", count, 1)
  checkInteger("height", height, 1)
  checkInteger("width", width, 1)
  checkInteger("columns", columns, 1)
  checkInteger("pad", pad, 0)
  checkInteger("groupPad", groupPad, 0)
  checkInteger("zoom", zoom, 1)
  checkInteger("padValue", padValue, 0)
  if (padValue > 255) throw new RangeError(`image grid: padValue must be at most 255, got ${padValue}`)
  if (perGroup === 0) throw new RangeError("image grid: no image sets given")
  if (scaling === "range" && !(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) {
    throw new RangeError(`image grid: range must be two finite numbers, low < high, got [${range[0]}, ${range[1]}]`)
  }
  const size = height * width
  sets.forEach((set, s) => {
    if (set.length !== count * size) {
      throw new RangeError(
        `image grid: set ${s} has ${set.length} values, expected count × height × width = ${count} × ${height} × ${width} = ${count * size}`
      )
    }
  })

  const tileW = width * zoom
  const tileH = height * zoom
  const groupW = perGroup * tileW + (perGroup - 1) * pad
  const gridRows = Math.ceil(count / columns)
  // Outer border uses the group gap too, so edge tiles look like the rest.
  const pngW = columns * groupW + (columns + 1) * groupPad
  const pngH = gridRows * tileH + (gridRows + 1) * groupPad

  const png = new PNG({ width: pngW, height: pngH, inputColorType: 6 })
  const data = png.data
  let coloured = false
  for (let p = 0; p < data.length; p += 4) {
    data[p] = data[p + 1] = data[p + 2] = padValue
    data[p + 3] = 255
  }

  for (let i = 0; i < count; i++) {
    const top = groupPad + Math.floor(i / columns) * (tileH + groupPad)
    const groupLeft = groupPad + (i % columns) * (groupW + groupPad)
    for (let s = 0; s < perGroup; s++) {
      const grey = toGrey(sets[s].subarray(i * size, (i + 1) * size), scaling, range)
      const left = groupLeft + s * (tileW + pad)
      for (let y = 0; y < tileH; y++) {
        const srcRow = Math.floor(y / zoom) * width
        let p = ((top + y) * pngW + left) * 4
        for (let x = 0; x < tileW; x++, p += 4) {
          const g = grey[srcRow + Math.floor(x / zoom)]
          if (g < 0) {
            coloured = true
            data[p] = NON_FINITE_RGB[0]
            data[p + 1] = NON_FINITE_RGB[1]
            data[p + 2] = NON_FINITE_RGB[2]
          } else {
            data[p] = data[p + 1] = data[p + 2] = g
          }
        }
      }
    }
  }
  // Grey unless a non-finite value is marked in colour: a third of the bytes for the same pixels.
  const colorType = coloured ? 2 : 0
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6 }))
}

/** A plain grid of `count` images, e.g. decoder columns. */
export const imageGridPng = (images: Float32Array, opts: GridOptions): Uint8Array => rowsGridPng([images], opts)

/** Image i of `a` beside image i of `b`, e.g. inputs | reconstructions. */
export const pairsGridPng = (a: Float32Array, b: Float32Array, opts: GridOptions): Uint8Array =>
  rowsGridPng([a, b], opts)
