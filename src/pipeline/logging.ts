import * as Cause from "effect/Cause"
import * as Logger from "effect/Logger"

/** Plain "[hh:mm:ss] message" lines on stderr, so stdout stays free for machine-readable output. */
export const plainLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ message, date, logLevel }) => {
    const text = (Array.isArray(message) ? message : [message])
      .map((m) => (typeof m === "string" ? m : Cause.isCause(m) ? Cause.pretty(m) : JSON.stringify(m)))
      .join(" ")
    const level = logLevel.label === "INFO" ? "" : `${logLevel.label} `
    process.stderr.write(`[${date.toTimeString().slice(0, 8)}] ${level}${text}\n`)
  })
)
