import { makeRng, type Rng } from "../../data/random.js"

/**
 * One seed drives a run; each use (initialisation, data order, noise) gets its own stream derived
 * from it, so adding a draw to one use never shifts the others.
 */
export type SeedUse = "split" | "init" | "order" | "noise"

const useCode: Record<SeedUse, number> = { split: 0, init: 1, order: 2, noise: 3 }

export const derivedSeed = (seed: number, use: SeedUse): number => {
  // A splitmix-style finaliser decorrelates neighbouring seeds and uses.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(useCode[use] + 1, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

/** The stream for one use; with `state` (from `rng.state()`), that stream continued from there. */
export const rngFor = (seed: number, use: SeedUse, state?: number): Rng => makeRng(derivedSeed(seed, use), state)
