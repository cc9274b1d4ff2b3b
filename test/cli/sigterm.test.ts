/**
 * A supervisor's SIGTERM reaches `sparse-vdl train` itself: the run stops after the batch in
 * progress, saves last.safetensors, exits 143, and resumes from there to its end.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../package/built.js"
import { runProgram, startProgram } from "./program.js"

const small = [
  "--model",
  "sdl",
  "--code-dim",
  "16",
  "--batch-size",
  "50",
  "--train-size",
  "300",
  "--backend",
  "wasm",
  "--seed",
  "3"
]

describe("sparse-vdl train under a supervisor", () => {
  beforeAll(ensureBuilt, 300_000)

  it("exits 143 on SIGTERM during training and leaves a last.safetensors that resumes", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "sigterm-")), "run")
    const training = startProgram(["train", ...small, "--epochs", "30", "--out", out])
    await training.waitFor(/epoch 1\/30 /)
    training.child.kill("SIGTERM")
    const exit = await training.exited
    const { stderr } = training.output()
    expect(exit.code, stderr).toBe(143)
    expect(stderr).toMatch(/SIGTERM: stopping after the current batch/)
    expect(stderr).toContain(`resume with --resume ${out}`)
    expect(existsSync(join(out, "last.safetensors"))).toBe(true)
    expect(existsSync(join(out, "summary.json"))).toBe(false)

    const resumed = await runProgram(["train", "--resume", out, "--epochs", "2"])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toMatch(/resuming .* at epoch [12] batch \d+, for 2 epochs in all/)
    expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))).toMatchObject({ model: "sdl", epochs: 2 })
  }, 300_000)
})
