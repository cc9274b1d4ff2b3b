/** Rows `indices` of a row-major matrix with `dim` columns, copied into a new array. */
export const gatherRows = (x: Float32Array, dim: number, indices: ArrayLike<number>): Float32Array => {
  const out = new Float32Array(indices.length * dim)
  for (let i = 0; i < indices.length; i++) out.set(x.subarray(indices[i] * dim, (indices[i] + 1) * dim), i * dim)
  return out
}
