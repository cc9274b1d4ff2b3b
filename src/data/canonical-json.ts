/** JSON with the keys of every object sorted, for comparing values whatever order their fields were built in. */
export const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_, x) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]])
        )
      : x
  )
