/** MNIST downloaded from public mirrors, verified by SHA-256 and cached. */
import { FileSystem } from "@effect/platform"
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import * as os from "node:os"
import * as nodePath from "node:path"
import { writeFileAtomic } from "../atomic-write.js"
import { ChecksumError, DataSourceError, type IdxFormatError } from "../errors.js"
import type { MnistData } from "./data.js"
import { loadMnistDir } from "./idx-folder.js"

export const MNIST_GZ_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz"
] as const
export type MnistGzFile = (typeof MNIST_GZ_FILES)[number]

/** Tried in order; yann.lecun.com is left out because it now often refuses downloads. */
export const MNIST_MIRRORS: readonly string[] = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/"
]

export const MNIST_SHA256: Readonly<Record<MnistGzFile, string>> = {
  "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
  "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
  "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
  "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
}

export interface DownloadMnistOptions {
  /** Defaults to defaultMnistCacheDir(). */
  readonly cacheDir?: string
  /** Base URLs tried in order for each file; defaults to MNIST_MIRRORS. */
  readonly mirrors?: readonly string[]
  /** Expected SHA-256 (hex) per file; defaults to MNIST_SHA256. Tests point it at fixtures. */
  readonly checksums?: Readonly<Record<MnistGzFile, string>>
  /** Defaults to the global fetch. */
  readonly fetch?: typeof globalThis.fetch
  /** Per request, body included; defaults to 5 minutes. */
  readonly timeoutMs?: number
}

/** $XDG_CACHE_HOME/sparse-vdl/mnist, or ~/.cache/sparse-vdl/mnist. */
export const defaultMnistCacheDir = (): string => {
  const xdg = process.env.XDG_CACHE_HOME
  const base = xdg && nodePath.isAbsolute(xdg) ? xdg : nodePath.join(os.homedir(), ".cache")
  return nodePath.join(base, "sparse-vdl", "mnist")
}

const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const joinUrl = (base: string, name: string): string => (base.endsWith("/") ? base + name : `${base}/${name}`)

/**
 * Fetches one URL and checks its SHA-256. A transport or HTTP failure is a DataSourceError
 * naming the URL; bytes that arrive but do not match are a ChecksumError.
 */
export const fetchVerified = (
  url: string,
  expectedSha256: string,
  options: { readonly fetch?: typeof globalThis.fetch; readonly timeoutMs?: number } = {}
): Effect.Effect<Uint8Array, DataSourceError | ChecksumError> => {
  const fetchImpl = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 5 * 60_000
  return Effect.tryPromise({
    try: async (signal) => {
      const response = await fetchImpl(url, { signal })
      if (!response.ok) {
        // An unread body would hold the connection open until garbage collection.
        await response.body?.cancel().catch(() => undefined)
        throw new Error(`HTTP ${response.status} ${response.statusText}`.trim())
      }
      return new Uint8Array(await response.arrayBuffer())
    },
    catch: (e) => {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ""
      return new DataSourceError({ source: url, problem: `${e instanceof Error ? e.message : String(e)}${cause}` })
    }
  }).pipe(
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () =>
        new DataSourceError({ source: url, problem: `no complete response within ${timeoutMs / 1000} s` })
    }),
    Effect.flatMap((bytes) => {
      const actual = sha256Hex(bytes)
      return actual === expectedSha256.toLowerCase()
        ? Effect.succeed(bytes)
        : Effect.fail(new ChecksumError({ file: url, expected: expectedSha256, actual }))
    })
  )
}

/** A download lands whole or not at all, so a later run never reads half a file. */
const writeAtomically = (dest: string, bytes: Uint8Array) =>
  writeFileAtomic(dest, bytes).pipe(
    Effect.mapError(
      (e) =>
        new DataSourceError({
          source: `cache folder ${nodePath.dirname(dest)}`,
          problem: `cannot write ${dest} (${e.problem}); make the folder writable or pass another cacheDir`
        })
    )
  )

/** Is there a cached copy whose checksum matches? A mismatching one is simply replaced. */
const cachedCopyIsValid = (fs: FileSystem.FileSystem, path: string, expected: string) =>
  fs.readFile(path).pipe(
    Effect.map((bytes) => {
      const actual = sha256Hex(bytes)
      return { valid: actual === expected.toLowerCase(), actual }
    }),
    Effect.orElseSucceed(() => ({ valid: false, actual: undefined as string | undefined }))
  )

const downloadOne = (
  fs: FileSystem.FileSystem,
  name: MnistGzFile,
  cacheDir: string,
  mirrors: readonly string[],
  expected: string,
  options: DownloadMnistOptions
) =>
  Effect.gen(function* () {
    const dest = nodePath.join(cacheDir, name)
    const cached = yield* cachedCopyIsValid(fs, dest, expected)
    if (cached.valid) return
    if (cached.actual !== undefined)
      yield* Effect.logWarning(
        new ChecksumError({ file: dest, expected, actual: cached.actual }).message + " Downloading it again."
      )

    const failures: string[] = []
    for (const mirror of mirrors) {
      const url = joinUrl(mirror, name)
      yield* Effect.logInfo(`Downloading ${url}`)
      const result = yield* Effect.either(fetchVerified(url, expected, options))
      if (Either.isRight(result)) return yield* writeAtomically(dest, result.right)
      const error = result.left
      const reason = error._tag === "ChecksumError" ? `SHA-256 mismatch (got ${error.actual})` : error.problem
      failures.push(`${mirror}: ${reason}`)
      yield* Effect.logWarning(`Mirror ${mirror} failed for ${name}: ${reason}`)
    }
    return yield* Effect.fail(
      new DataSourceError({
        source: "the MNIST download mirrors",
        problem:
          `could not download ${name} from any mirror:\n` +
          failures.map((f) => `  - ${f}`).join("\n") +
          `\nCheck the network connection, or download the four .gz files by hand into a folder and pass ` +
          `--mnist-dir, or omit it to use the embedded 10,000-digit set.`
      })
    )
  })

/**
 * Makes sure the four MNIST .gz files are in the cache folder with the published checksums
 * (downloading only what is missing or damaged) and loads them.
 */
export const downloadMnist = (
  options: DownloadMnistOptions = {}
): Effect.Effect<MnistData, DataSourceError | IdxFormatError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const cacheDir = options.cacheDir ?? defaultMnistCacheDir()
    const mirrors = options.mirrors ?? MNIST_MIRRORS
    const checksums = options.checksums ?? MNIST_SHA256
    if (mirrors.length === 0)
      return yield* Effect.fail(
        new DataSourceError({ source: "the MNIST download mirrors", problem: "no mirrors were given" })
      )

    yield* fs.makeDirectory(cacheDir, { recursive: true }).pipe(
      Effect.mapError(
        (e) =>
          new DataSourceError({
            source: `cache folder ${cacheDir}`,
            problem: `cannot create it (${e.message}); pass another cacheDir or set XDG_CACHE_HOME`
          })
      )
    )
    for (const name of MNIST_GZ_FILES) yield* downloadOne(fs, name, cacheDir, mirrors, checksums[name], options)

    const data = yield* loadMnistDir(cacheDir)
    return { ...data, source: `downloaded MNIST (cache folder ${cacheDir})` } satisfies MnistData
  })
