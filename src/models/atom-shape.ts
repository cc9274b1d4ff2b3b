/**
 * Shape statistics of dictionary atoms seen as small images, so that "localised, oriented,
 * edge-like" can be measured per epoch instead of judged from a picture.
 *
 * - orientedness ∈ [0, 1]: the resultant length of the doubled wave-vector angles of the atom's
 *   power spectrum (DC and the Nyquist row and column left out, so the frequency set is
 *   symmetric under 90° rotation and an isotropic spectrum scores exactly 0). A straight edge,
 *   bar or grating scores near 1; blobs, noise and meandering textures score low. The atom is
 *   Hann-windowed first so the patch border's wrap-around does not add a horizontal and a
 *   vertical line to every spectrum.
 * - orientation (degrees in [0, 180)): the direction of the edge (perpendicular to the dominant
 *   wave vector), counter-clockwise from the x axis as the image is shown (rows downwards).
 * - localisation ∈ (0, 1]: the share of the atom's gradient energy inside its best window of a
 *   third of the side each way (9×9 of the 27×27 gradient grid of a 28×28 atom): about 1/9 when
 *   the energy is spread evenly, near 1 for an edge or blob confined to a ninth of the patch.
 *   Gradient energy, not value energy, so a step edge counts as lying on its line.
 */
export interface AtomShapes {
  readonly orientedness: Float32Array
  readonly orientation: Float32Array
  readonly localisation: Float32Array
}

/** Thresholds of `edgeLike`: calibrated on Gabor atoms against noise and textures (test/models/atom-shape.test.ts). */
export const edgeLikeThresholds = { minOrientedness: 0.5, minLocalisation: 0.3 } as const

const hann = (n: number) =>
  Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n))

const dftTable = (n: number) => {
  const cos = new Float64Array(n * n)
  const sin = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (2 * Math.PI * ((k * j) % n)) / n
      cos[k * n + j] = Math.cos(a)
      sin[k * n + j] = Math.sin(a)
    }
  }
  return { cos, sin }
}

/** Signed frequency of DFT index k on n points, or null for the Nyquist index of an even n. */
const signedFrequency = (k: number, n: number): number | null => (2 * k === n ? null : k <= n / 2 ? k : k - n)

/**
 * Shape statistics of `count` atoms of `height`×`width` pixels stored row-major one after the
 * other in `images` (the layout of the decoder's columns).
 */
export const atomShapes = (images: Float32Array, count: number, height: number, width: number): AtomShapes => {
  const d = height * width
  if (images.length !== count * d)
    throw new RangeError(`atomShapes: ${images.length} values are not ${count} atoms of ${height}×${width}`)
  if (height < 3 || width < 3)
    throw new RangeError(`atomShapes: atoms of ${height}×${width} are too small to have a shape`)
  const wy = hann(height)
  const wx = hann(width)
  const ty = dftTable(height)
  const tx = dftTable(width)
  const angles: { u: number; v: number; c: number; s: number }[] = []
  for (let u = 0; u < height; u++) {
    for (let v = 0; v < width; v++) {
      const fu = signedFrequency(u, height)
      const fv = signedFrequency(v, width)
      if (fu === null || fv === null || (fu === 0 && fv === 0)) continue
      // Wave vector in cycles per pixel, with y pointing up as the picture is seen.
      const theta = Math.atan2(-fu / height, fv / width)
      angles.push({ u, v, c: Math.cos(2 * theta), s: Math.sin(2 * theta) })
    }
  }
  const gh = height - 1
  const gw = width - 1
  const wh = Math.ceil(gh / 3)
  const ww = Math.ceil(gw / 3)
  const area = new Float64Array((gh + 1) * (gw + 1))

  const orientedness = new Float32Array(count)
  const orientation = new Float32Array(count)
  const localisation = new Float32Array(count)
  const a = new Float64Array(d)
  const rowRe = new Float64Array(d)
  const rowIm = new Float64Array(d)
  for (let i = 0; i < count; i++) {
    const atom = images.subarray(i * d, (i + 1) * d)
    let mean = 0
    for (let p = 0; p < d; p++) mean += atom[p]
    mean /= d
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) a[y * width + x] = (atom[y * width + x] - mean) * wy[y] * wx[x]

    // Separable DFT: along x for every row, then along y for the frequencies the statistic uses.
    for (let y = 0; y < height; y++) {
      for (let v = 0; v < width; v++) {
        let re = 0
        let im = 0
        for (let x = 0; x < width; x++) {
          const val = a[y * width + x]
          re += val * tx.cos[v * width + x]
          im -= val * tx.sin[v * width + x]
        }
        rowRe[y * width + v] = re
        rowIm[y * width + v] = im
      }
    }
    let total = 0
    let c2 = 0
    let s2 = 0
    for (const f of angles) {
      let re = 0
      let im = 0
      for (let y = 0; y < height; y++) {
        const cr = ty.cos[f.u * height + y]
        const sr = ty.sin[f.u * height + y]
        const xr = rowRe[y * width + f.v]
        const xi = rowIm[y * width + f.v]
        re += xr * cr + xi * sr
        im += xi * cr - xr * sr
      }
      const power = re * re + im * im
      total += power
      c2 += power * f.c
      s2 += power * f.s
    }
    orientedness[i] = total > 0 ? Math.hypot(c2, s2) / total : 0
    const waveDegrees = ((Math.atan2(s2, c2) / 2) * 180) / Math.PI
    orientation[i] = (((waveDegrees + 90) % 180) + 180) % 180

    // Gradient energy and its summed-area table, for the best window's share.
    let e = 0
    for (let y = 0; y < gh; y++) {
      let rowSum = 0
      for (let x = 0; x < gw; x++) {
        const here = atom[y * width + x]
        const gx = atom[y * width + x + 1] - here
        const gy = atom[(y + 1) * width + x] - here
        rowSum += gx * gx + gy * gy
        area[(y + 1) * (gw + 1) + x + 1] = area[y * (gw + 1) + x + 1] + rowSum
      }
      e += rowSum
    }
    let best = 0
    for (let y = 0; y + wh <= gh; y++) {
      for (let x = 0; x + ww <= gw; x++) {
        const s =
          area[(y + wh) * (gw + 1) + x + ww] -
          area[y * (gw + 1) + x + ww] -
          area[(y + wh) * (gw + 1) + x] +
          area[y * (gw + 1) + x]
        if (s > best) best = s
      }
    }
    localisation[i] = e > 0 ? best / e : 0
  }
  return { orientedness, orientation, localisation }
}

export const isEdgeLike = (shapes: AtomShapes, i: number) =>
  shapes.orientedness[i] >= edgeLikeThresholds.minOrientedness &&
  shapes.localisation[i] >= edgeLikeThresholds.minLocalisation

const median = (xs: Float32Array) => {
  if (xs.length === 0) return Number.NaN
  const s = Float32Array.from(xs).sort()
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** One line of figures for a whole dictionary: what metrics.arrow records per epoch. */
export interface AtomShapeSummary {
  readonly edgeLikeFraction: number
  readonly medianOrientedness: number
  readonly medianLocalisation: number
}

export const summariseAtomShapes = (shapes: AtomShapes): AtomShapeSummary => {
  const n = shapes.orientedness.length
  let edgeLike = 0
  for (let i = 0; i < n; i++) if (isEdgeLike(shapes, i)) edgeLike++
  return {
    edgeLikeFraction: n === 0 ? Number.NaN : edgeLike / n,
    medianOrientedness: median(shapes.orientedness),
    medianLocalisation: median(shapes.localisation)
  }
}
