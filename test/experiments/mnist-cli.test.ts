import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { commandSync } from "../helpers/commands.js"

const fixture = join(__dirname, "..", "fixtures", "mnist-small")

const mnist = (...args: string[]) => commandSync("experiments/mnist.ts", ...args)

describe("experiments/mnist.ts", () => {
  it("trains on the embedded digits and writes the run folder", () => {
    const out = join(mkdtempSync(join(tmpdir(), "cli-")), "run")
    const r = mnist("--epochs", "1", "--train-size", "500", "--code-dim", "16", "--model", "sdl", "--out", out)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/backend: (wasm|tensorflow|tensorflow-gpu|cpu)/)
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))
    expect(summary).toMatchObject({ model: "sdl", epochs: 1, bestEpoch: 1 })
    expect(summary.val.psnr).toBeGreaterThan(5)
    for (const f of [
      "metrics.arrow",
      "metrics.csv",
      "checkpoint.safetensors",
      "decoder-columns.png",
      "reconstructions.png"
    ])
      expect(existsSync(join(out, f)), f).toBe(true)
  })

  it("refuses an invalid option value with a message that names it", () => {
    const r = mnist("--lambda", "-1", "--epochs", "1")
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain("--lambda")
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/)
    // A value the parser itself refuses: one line, naming the option, without the parser's bare echo.
    const parsed = mnist("--epochs", "abc")
    expect(parsed.status).toBe(1)
    expect(parsed.stderr.trim().split("\n")).toEqual([
      "error: option --epochs is not valid ('abc' is not an integer). Run with --help for every option and the values it takes."
    ])
  })

  it("names a truncated IDX file and the fix, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "mnist-bad-"))
    for (const f of ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
      copyFileSync(join(fixture, f), join(dir, f))
    const raw = gunzipSync(readFileSync(join(fixture, "train-images-idx3-ubyte.gz")))
    writeFileSync(join(dir, "train-images-idx3-ubyte"), raw.subarray(0, raw.length - 100))
    const out = join(dir, "run")
    const r = mnist("--mnist-dir", dir, "--epochs", "1", "--out", out)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain("train-images-idx3-ubyte")
    expect(r.stderr).toMatch(/truncated/)
    expect(existsSync(out)).toBe(false)
  })
})
