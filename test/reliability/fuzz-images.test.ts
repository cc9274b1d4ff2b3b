/**
 * Randomly damaged photos — bit flips, cuts, overwritten and appended bytes, in PNG and JPEG —
 * fed to the photo reader of the patch builder: each ends as a decoded grey image or as a typed
 * ImageReadError naming the file, never an exception, a defect or a hang. sharp decodes off the
 * main thread, so a case that hangs is caught by a timeout here.
 */
import * as fc from "fast-check"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeRng } from "../../src/data/random.js"
import { readGrayImage } from "../../src/data/images.js"
import { applyDamage, damageArbitrary } from "./damage.js"

const RUNS = 150
const CASE_TIMEOUT = Duration.seconds(10)
const work = mkdtempSync(join(tmpdir(), "fuzz-images-"))
const bases: Record<"png" | "jpg", Uint8Array> = { png: new Uint8Array(), jpg: new Uint8Array() }

beforeAll(async () => {
  const rng = makeRng(7)
  const [w, h] = [48, 36]
  const rgb = Buffer.from(
    Array.from({ length: w * h * 3 }, (_, i) => Math.floor(128 + 100 * Math.sin(i / 17) + 20 * rng.next()))
  )
  bases.png = new Uint8Array(
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer()
  )
  bases.jpg = new Uint8Array(
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer()
  )
})

const tally = new Map<string, number>()
afterAll(() => console.info([...tally.entries()].map(([k, n]) => `${k}: ${n}`).join("\n")))

/** The first 64 bytes, where the damage is favoured, hold the signature, headers and first chunk lengths. */
const damage = damageArbitrary({ maxBytes: 32, uint32: false })
const PREFIX = 64

let n = 0
/** How the reader ended: "ok", "typed", or a description of anything else. */
const outcome = async (format: "png" | "jpg", bytes: Uint8Array): Promise<string> => {
  const path = join(work, `case-${n++}.${format}`)
  writeFileSync(path, bytes)
  const exit = await Effect.runPromiseExit(
    readGrayImage(path).pipe(Effect.timeoutFail({ duration: CASE_TIMEOUT, onTimeout: () => "hang" as const }))
  )
  if (Exit.isSuccess(exit)) {
    const { width, height, pixels } = exit.value
    if (Math.min(width, height) !== 256 || pixels.length !== width * height || !pixels.every((v) => v >= 0 && v <= 1))
      return `ok but malformed: ${width}×${height}`
    return "ok"
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return `defect ${Cause.pretty(exit.cause).split("\n").slice(0, 4).join(" | ")}`
  const e = failure.value
  if (e === "hang") return `hang: no answer within ${Duration.format(CASE_TIMEOUT)}`
  if (e._tag !== "ImageReadError" || !e.message.startsWith(`cannot read ${path}: `)) return `untyped ${String(e)}`
  return "typed"
}

describe("fuzzed photos", () => {
  it("end in a grey image or a typed ImageReadError that names the file", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("png" as const, "jpg" as const),
        fc.array(damage, { minLength: 1, maxLength: 4 }),
        async (format, ds) => {
          const result = await outcome(format, applyDamage(bases[format], ds, PREFIX))
          tally.set(`${format} ${result.split(" ")[0]}`, (tally.get(`${format} ${result.split(" ")[0]}`) ?? 0) + 1)
          expect(result, result).toMatch(/^(ok|typed)$/)
        }
      ),
      { numRuns: RUNS, seed: 6_2030, endOnFailure: true }
    )
    // Some damage is harmless and some is not: the property is exercised both ways.
    expect(tally.get("png typed") ?? 0).toBeGreaterThan(0)
    expect((tally.get("png ok") ?? 0) + (tally.get("jpg ok") ?? 0)).toBeGreaterThan(0)
  }, 240_000)

  it("end in a typed ImageReadError for garbage of any length", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("png" as const, "jpg" as const),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        async (format, bytes) => {
          expect(await outcome(format, bytes)).toBe("typed")
        }
      ),
      { numRuns: 40, seed: 6_2031, endOnFailure: true }
    )
  }, 120_000)
})
