/**
 * A message that repeats, logged once and then at most once per `windowMs` with the number of
 * times it came meanwhile: a queue that fails every few milliseconds must not flood the log.
 */
export const rateLimitedLog = (log: (line: string) => void, windowMs = 10_000) => {
  const seen = new Map<string, { since: number; repeats: number }>()
  return (line: string): void => {
    const now = Date.now()
    const last = seen.get(line)
    if (last === undefined || now - last.since >= windowMs) {
      const more =
        last === undefined || last.repeats === 0
          ? ""
          : ` (and ${last.repeats} more times in the last ${Math.round((now - last.since) / 1000)} s)`
      seen.set(line, { since: now, repeats: 0 })
      log(`${line}${more}`)
      return
    }
    last.repeats += 1
  }
}
