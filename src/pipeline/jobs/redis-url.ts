/**
 * The Redis URL of a job queue, read once into the options ioredis takes, and shown everywhere
 * with its password masked: logs and error messages end up in terminals, CI output and issues.
 *   redis://HOST:PORT[/DB]   redis://USER:PASSWORD@HOST:PORT[/DB]   redis://:PASSWORD@HOST
 *   rediss://…               (the same over TLS)
 */
import { Either } from "effect"
import type { RedisOptions } from "ioredis"
import { isIP } from "node:net"

const MASK = "***"

/**
 * The URL with its password (if any) replaced by ***; text that is not a URL loses everything
 * before its last @. The user information ends at the last @, not at the first / ? or #: a
 * password typed without percent-encoding may hold any of them, and must be masked whole.
 */
export const maskUrl = (url: string): string => {
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url)
  if (scheme === null) return url.includes("@") ? `${MASK}@${url.slice(url.lastIndexOf("@") + 1)}` : url
  const [, head, rest] = scheme
  const at = rest.lastIndexOf("@")
  if (at < 0) return url
  const userinfo = rest.slice(0, at)
  const colon = userinfo.indexOf(":")
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon)
  // A "user name" that holds / ? or # is the start of a password or path: nothing of it is shown.
  const masked = /[/?#%]/.test(user) ? MASK : colon < 0 ? user : `${user}:${MASK}`
  return `${head}${masked}@${rest.slice(at + 1)}`
}

const FORMS =
  "write it as redis://HOST:PORT[/DB], redis://USER:PASSWORD@HOST:PORT[/DB], or rediss://… for TLS (e.g. redis://127.0.0.1:6379)"

/** What ioredis is given for a URL: host, port, database, user and password, and TLS for rediss://. */
export type RedisTarget = Pick<RedisOptions, "host" | "port" | "db" | "username" | "password" | "tls">

/** The URL read into ioredis's options; Left: what is wrong with it, the password masked. */
export const redisOptions = (url: string): Either.Either<RedisTarget, string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left(`not a Redis URL; ${FORMS}`)
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    return Either.left(`${parsed.protocol}// is not a Redis URL scheme; ${FORMS}`)
  // An @ after the host: a user name or password holding / ? or # unencoded, cut short there. The
  // parts of the URL past that point hold the password's rest, so no message quotes them.
  if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes("@")) {
    return Either.left(
      "its user name or password holds a / ? # or @ that is not percent-encoded, so the URL cannot be read; encode them (/ as %2F, ? as %3F, # as %23, @ as %40, % as %25; encodeURIComponent does it)"
    )
  }
  if (parsed.hostname === "") return Either.left(`it names no host; ${FORMS}`)
  const port = parsed.port === "" ? 6379 : Number(parsed.port)
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    return Either.left(`port ${parsed.port} is not a port number`)
  const path = parsed.pathname.replace(/^\//, "")
  if (path !== "" && !/^\d+$/.test(path)) return Either.left(`/${path} is not a database number (0, 1, …); ${FORMS}`)
  if (parsed.search !== "" || parsed.hash !== "")
    return Either.left(
      `it has a query or fragment (${parsed.search}${parsed.hash}), which the queue does not read; ${FORMS}`
    )
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  }
  // ioredis wants IPv6 hosts without the brackets the URL has.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  return Either.right({
    host,
    port,
    db: path === "" ? 0 : Number(path),
    ...(parsed.username === "" ? {} : { username: decode(parsed.username) }),
    ...(parsed.password === "" ? {} : { password: decode(parsed.password) }),
    // SNI names the server by its host name; an IP address may not be sent as one (RFC 6066).
    ...(parsed.protocol === "rediss:" ? { tls: isIP(host) === 0 ? { servername: host } : {} } : {})
  })
}
