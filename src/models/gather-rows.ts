/** Rows `indices` of a row-major matrix with `dim` columns, copied into a new array. */
export const gatherRows = (x: Float32Array, dim: number, indices: ArrayLike<number>): Float32Array =>
  gatherRowsInto(x, dim, indices, new Float32Array(indices.length * dim))

/** The same into `out` (at least indices.length × dim long); answers the filled part of it. */
export const gatherRowsInto = (
  x: Float32Array,
  dim: number,
  indices: ArrayLike<number>,
  out: Float32Array
): Float32Array => {
  for (let i = 0; i < indices.length; i++) out.set(x.subarray(indices[i] * dim, (indices[i] + 1) * dim), i * dim)
  return out.subarray(0, indices.length * dim)
}
