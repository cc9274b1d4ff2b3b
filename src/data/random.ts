/**
 * A tiny seeded PRNG for data splits. Splits must be identical on every machine and Node
 * version for a given seed, which rules out Math.random; mulberry32 is small, fast and more
 * than good enough for shuffling indices (it is not meant for cryptography or for the
 * model's own weight initialisation).
 */

export interface Rng {
  /** A uniform draw in [0, 1), with 32 bits of resolution. */
  readonly next: () => number
  /** A uniform integer in [0, n) for 1 <= n <= 2^32. */
  readonly int: (n: number) => number
  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  readonly permutation: (n: number) => number[]
  /**
   * The whole internal state, a 32-bit unsigned integer: makeRng(seed, rng.state()) continues
   * the same sequence, which is what lets a stopped run resume with the same data order.
   */
  readonly state: () => number
}

/**
 * Any number is accepted as a seed; it is reduced to 32 bits, so seeds 2^32 apart coincide.
 * Given a `state` from `rng.state()`, the generator continues from there and the seed is unused.
 */
export const makeRng = (seed: number, state?: number): Rng => {
  if (state !== undefined && !(Number.isInteger(state) && state >= 0 && state <= 0xffffffff)) {
    throw new RangeError(`makeRng: state must be an integer in [0, 2^32), got ${state}`)
  }
  let s = state ?? seed >>> 0

  const nextUint32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  const next = (): number => nextUint32() / 4294967296

  // floor(u * n) is biased by at most n / 2^32, invisible for any dataset size we shuffle.
  const int = (n: number): number => Math.floor(next() * n)

  const permutation = (n: number): number[] => {
    const p = Array.from({ length: n }, (_, i) => i)
    for (let i = n - 1; i > 0; i--) {
      const j = int(i + 1)
      const tmp = p[i]
      p[i] = p[j]
      p[j] = tmp
    }
    return p
  }

  return { next, int, permutation, state: () => s }
}

/** The items in a random order drawn from `rng`. */
export const shuffled = <A>(items: readonly A[], rng: Rng): A[] => rng.permutation(items.length).map((i) => items[i])
