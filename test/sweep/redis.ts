/**
 * A Redis server for the queue tests: the one .ci/run started (SPARSE_VDL_TEST_REDIS_URL), else
 * one started here on a free loopback port. Without either, the tests are skipped outside CI (the
 * test run's setup prints one line naming them and the install command) and fail under CI=true,
 * naming the fix: there a skipped queue test would look like a passing one.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { Redis } from "ioredis"
import { afterAll, beforeAll, it } from "vitest"
import type { Spawned } from "../helpers/commands.js"
import {
  findBinary,
  INSTALL_REDIS,
  REDIS_URL_VARIABLE,
  redisAvailable,
  redisRequired
} from "../helpers/redis-available.js"

export { REDIS_URL_VARIABLE }

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const answers = async (url: string): Promise<boolean> => {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000
  })
  // The refusal is the answer; without a listener ioredis would also print it as unhandled.
  client.on("error", () => {})
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

export interface TestRedis {
  readonly url: string
  readonly stop: () => Promise<void>
}

/**
 * `password`: a server of its own (whatever the variable says) that requires it, for the user
 * "default": its URL is redis://default:PASSWORD@127.0.0.1:PORT.
 */
export const testRedis = async (options: { readonly password?: string } = {}): Promise<TestRedis> => {
  const given = process.env[REDIS_URL_VARIABLE]
  if (given !== undefined && given !== "" && options.password === undefined) {
    if (!(await answers(given)))
      throw new Error(
        `${REDIS_URL_VARIABLE}=${given} but no Redis server answers there; start it, or unset the variable to let the test start its own`
      )
    return { url: given, stop: async () => {} }
  }
  const binary = findBinary("redis-server")
  if (binary === null) {
    throw new Error(
      `the queue tests need a Redis server: install redis-server (Debian: ${INSTALL_REDIS}) or set ${REDIS_URL_VARIABLE} to the URL of a running one`
    )
  }
  const port = await freePort()
  const url =
    options.password === undefined
      ? `redis://127.0.0.1:${port}`
      : `redis://default:${encodeURIComponent(options.password)}@127.0.0.1:${port}`
  const auth = options.password === undefined ? [] : ["--requirepass", options.password]
  const server: ChildProcess = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...auth],
    { stdio: "ignore" }
  )
  const deadline = Date.now() + 10_000
  while (!(await answers(url))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      server.kill("SIGKILL")
      throw new Error(`redis-server (${binary}) did not start on port ${port}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (server.exitCode !== null) return resolve()
        server.once("exit", () => resolve())
        server.kill("SIGTERM")
      })
  }
}

/**
 * A describe block's Redis server (testRedis, started before its first test) and the processes its
 * tests start (push them to `started`): after its last test those still running are killed and
 * the server is stopped. Read `url` inside the tests, which are declared with the `it` returned
 * here: skipped when no server can be had outside CI.
 */
export const redisForTests = (
  options: { readonly password?: string } = {}
): { readonly url: string; readonly started: Spawned[]; readonly it: ReturnType<typeof it.skipIf> } => {
  let server: TestRedis | undefined
  const started: Spawned[] = []
  const runs = redisRequired() || redisAvailable(options.password !== undefined)
  beforeAll(async () => {
    if (runs) server = await testRedis(options)
  })
  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL")
    await server?.stop()
  })
  return {
    get url(): string {
      if (server === undefined)
        throw new Error("the test Redis server starts before the first test: read its url inside a test")
      return server.url
    },
    started,
    it: it.skipIf(!runs)
  }
}
