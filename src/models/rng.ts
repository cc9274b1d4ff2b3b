/**
 * The maths takes randomness as a plain source of uniforms so that the same seed gives the same
 * weights on every backend (tfjs' own seeded ops differ between backends).
 */
export interface UniformSource {
  /** A uniform draw in [0, 1). */
  readonly next: () => number
}

export const uniformArray = (rng: UniformSource, size: number, low: number, high: number): Float32Array => {
  const out = new Float32Array(size)
  const width = high - low
  for (let i = 0; i < size; i++) out[i] = low + width * rng.next()
  return out
}

/** Standard normal draws by Box–Muller, two per pair of uniforms. */
export const normalArray = (rng: UniformSource, size: number, std = 1): Float32Array => {
  const out = new Float32Array(size)
  for (let i = 0; i < size; i += 2) {
    const u1 = Math.max(rng.next(), 1e-12)
    const u2 = rng.next()
    const r = std * Math.sqrt(-2 * Math.log(u1))
    out[i] = r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
  }
  return out
}
