/** The first place where `actual` differs from `expected`, as a readable path; undefined if none. */
export const firstDifference = (expected: unknown, actual: unknown, path = ""): string | undefined => {
  if (expected === actual) return undefined
  const shown = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v))
  if (typeof expected !== "object" || expected === null || typeof actual !== "object" || actual === null) {
    return `${path || "the value"} is ${shown(actual)}, requested ${shown(expected)}`
  }
  if (Array.isArray(expected) !== Array.isArray(actual))
    return `${path} is ${shown(actual)}, requested ${shown(expected)}`
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
  for (const key of keys) {
    const diff = firstDifference(
      (expected as Record<string, unknown>)[key],
      (actual as Record<string, unknown>)[key],
      path ? `${path}.${key}` : key
    )
    if (diff !== undefined) return diff
  }
  return undefined
}
