/**
 * @effect/cli takes --log-level only before everything else (before the subcommand, before the
 * first option); a person adds it at the end of the line as often as not. It goes first here,
 * with its value, wherever it was typed.
 */
export const logLevelFirst = (argv: ReadonlyArray<string>): string[] => {
  const [runtime = "node", script = "", ...rest] = argv
  const level: string[] = []
  const others: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]
    if (word === "--log-level" && i + 1 < rest.length) level.push(word, rest[++i])
    else if (word.startsWith("--log-level=")) level.push(word)
    else others.push(word)
  }
  return [runtime, script, ...level, ...others]
}
