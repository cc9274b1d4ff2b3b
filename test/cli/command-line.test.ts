/**
 * The program's command line: help as plain text on a pipe, --log-level wherever it is typed, one
 * short line about the backend, and a BLAS named by SPARSE_VDL_BLAS that does not load refused.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../package/built.js"
import { runProgram } from "./program.js"

const ANSI = /\u001b\[/
const small = ["--model", "sdl", "--code-dim", "16", "--batch-size", "50", "--train-size", "300", "--epochs", "1"]
const commands = ["train", "patches", "denoise", "classify", "report", "sweep", "worker", "bench"]

describe("the sparse-vdl command line", () => {
  beforeAll(ensureBuilt, 300_000)

  it("prints help without terminal escapes into a pipe, for the program and each command", async () => {
    const top = await runProgram(["--help"])
    expect(top.code, top.stderr).toBe(0)
    expect(top.stdout).not.toMatch(ANSI)
    for (const c of commands) expect(top.stdout, c).toMatch(new RegExp(`^\\s*(- )?${c}\\b`, "m"))
    const train = await runProgram(["train", "--help"])
    expect(train.code, train.stderr).toBe(0)
    expect(train.stdout).not.toMatch(ANSI)
    expect(train.stdout).toContain("--epochs")
    expect(train.stdout).toContain("--lambda")
  })

  it("takes --log-level at the end of the line, and names the backend in one short line", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "log-level-")), "run")
    const r = await runProgram(["train", ...small, "--out", out, "--log-level", "debug"])
    expect(r.code, r.stderr).toBe(0)
    // Without --backend every faster backend is tried first; why each was passed over is debug detail.
    expect(r.stderr).toMatch(/DEBUG backend tensorflow-gpu skipped: /)
    const line = r.stderr.split("\n").find((l) => / backend: /.test(l))
    expect(line).toBeDefined()
    expect(line!.length).toBeLessThan(200)
    expect(line).toMatch(/backend: (tensorflow-gpu|tensorflow|wasm|cpu).*; matrix products: /)

    const quiet = await runProgram(["train", ...small, "--out", `${out}-quiet`, "--log-level", "warning"])
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(quiet.stderr).not.toMatch(/ backend: /)
  }, 240_000)

  it("refuses a BLAS library named by SPARSE_VDL_BLAS that does not load, naming it and the fix", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "blas-")), "run")
    const missing = join(out, "no-such-libblas.so")
    const r = await runProgram(["train", ...small, "--backend", "wasm", "--out", out], { SPARSE_VDL_BLAS: missing })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`error: SPARSE_VDL_BLAS=${missing} cannot be used: `)
    expect(r.stderr).toContain("unset it to take the first BLAS found, or set SPARSE_VDL_BLAS=off")
    expect(existsSync(join(out, "summary.json"))).toBe(false)
  })
})
