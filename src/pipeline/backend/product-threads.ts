import type { NativeMatMul, ProductShape } from "./native-matmul.js"

/** How one product shape of a run fared on one thread and on all of them. */
export interface ProductTiming {
  /** m×k×n, with T after a transposed left operand and t after a transposed right one. */
  readonly shape: string
  readonly callsPerBatch: number
  readonly gflopsOneThread: number
  readonly gflopsAllThreads: number
  readonly threads: number
}

export const shapeLabel = ({ m, k, n, transposeA, transposeB }: ProductShape): string =>
  `${m}x${k}x${n}${transposeA ? "T" : ""}${transposeB ? "t" : ""}`

/** A tally of the product shapes a run computes, to hand to `native.watch`. */
export const shapeTally = () => {
  const seen = new Map<string, { shape: ProductShape; calls: number }>()
  return {
    seen: seen as ReadonlyMap<string, { readonly shape: ProductShape; readonly calls: number }>,
    observe: (shape: ProductShape) => {
      const key = shapeLabel(shape)
      const entry = seen.get(key)
      if (entry === undefined) seen.set(key, { shape, calls: 1 })
      else entry.calls += 1
    }
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Each of the shapes that carry most of a run's multiply-adds timed on one thread and on
 * `threads`, alternating for `rounds` rounds so that a slow spell of a shared machine hits both,
 * with the medians compared.
 */
export const timeProductShapes = (
  native: NativeMatMul,
  seen: ReadonlyMap<string, { readonly shape: ProductShape; readonly calls: number }>,
  batches: number,
  threads: number,
  { rounds = 3, most = 12 }: { readonly rounds?: number; readonly most?: number } = {}
): ProductTiming[] => {
  const work = ({ m, k, n }: ProductShape) => m * k * n
  const heaviest = [...seen.values()].sort((a, b) => b.calls * work(b.shape) - a.calls * work(a.shape)).slice(0, most)
  return heaviest.map(({ shape, calls }) => {
    const one: number[] = []
    const all: number[] = []
    for (let r = 0; r < rounds; r++) {
      one.push(native.timeProduct(shape, 1, 1))
      all.push(native.timeProduct(shape, threads, 1))
    }
    const gflops = (seconds: number) => Number(((2 * work(shape)) / seconds / 1e9).toFixed(1))
    const gflopsOneThread = gflops(median(one))
    const gflopsAllThreads = gflops(median(all))
    return {
      shape: shapeLabel(shape),
      callsPerBatch: Number((calls / batches).toFixed(2)),
      gflopsOneThread,
      gflopsAllThreads,
      threads
    }
  })
}
