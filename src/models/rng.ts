/**
 * The maths takes randomness as a plain source of uniforms so that the same seed gives the same
 * weights on every backend (tfjs' own seeded ops differ between backends).
 */
export interface UniformSource {
  /** A uniform draw in [0, 1). */
  readonly next: () => number
}

/**
 * A fixed stream of uniforms from a 32-bit seed: the start vectors of power iterations, which
 * must not draw from (and so shift) the model's generator.
 */
export const fixedUniforms = (seed: number): UniformSource => {
  let state = seed
  return {
    next: () => {
      state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
      return state / 4294967296
    }
  }
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
