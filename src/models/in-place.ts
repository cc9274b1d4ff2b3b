import type * as tf from "@tensorflow/tfjs-core"

/**
 * Element-wise updates written into a variable's own storage by a native BLAS (level 1), for
 * optimizers whose state is as large as the decoder: on the wasm backend each tensor operation
 * reads and writes every element and allocates its result, and Adam needs a dozen of them.
 * The backend layer installs an implementation; without one, callers keep their tensor path.
 */
export interface InPlace {
  /** Whether `y` alone owns storage that can be written in place (no clone or view shares it). */
  readonly writable: (y: tf.Variable) => boolean
  /** y ← alpha·x + beta·y in y's storage; x and y have the same size. Only on writable y. */
  readonly axpby: (alpha: number, x: tf.Tensor, beta: number, y: tf.Variable) => void
}

let installed: InPlace | null = null

export const setInPlace = (ops: InPlace | null): void => {
  installed = ops
}

export const inPlace = (): InPlace | null => installed
