/**
 * The paper command's parts as a person types them: --show-sittings prints the paper scale's
 * sittings and runs nothing; a sitting that does not exist and a step that does not exist are
 * refused, naming the option and how to see the right names.
 */
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { commandSync } from "../helpers/commands.js"
import { PAPER_SDL_NL_EPOCHS } from "../../src/pipeline/paper/scale.js"

const mnist = join("test", "fixtures", "mnist-small")
const photos = join("test", "fixtures")

describe("sparse-vdl paper in parts", () => {
  const out = mkdtempSync(join(tmpdir(), "paper-cli-"))
  const paper = (...args: string[]) =>
    commandSync("experiments/paper.ts", "--scale", "paper", "--mnist-dir", mnist, "--images", photos, ...args)

  it("prints the sittings and stops", () => {
    const r = paper("--out", join(out, "plan"), "--show-sittings")
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^\| sitting \| expected \| runs/m)
    expect(r.stdout).toContain(`mnist/sdl-nl-lambda0.01 (${PAPER_SDL_NL_EPOCHS} ep)`)
    expect(r.stdout).toContain("mnist/vdl-nl-lambda0.01 (200 ep)")
    expect(r.stdout).toContain("mnist-spread/noreg-lambda0.02-seed33 (20 ep)")
    expect(r.stdout).toMatch(/\d+ sittings, [\d.]+ h in all/)
    expect(readdirSync(out)).toEqual([])
  }, 120_000)

  it("refuses a sitting or a step the plan does not have", () => {
    const sitting = paper("--out", join(out, "plan"), "--sitting", "99")
    expect(sitting.status).not.toBe(0)
    expect(sitting.stderr).toMatch(
      /--sitting.*99 is not a sitting of this plan; --show-sittings lists them \(1 to \d+\)/
    )
    const only = paper("--out", join(out, "plan"), "--only", "mnist/nothing")
    expect(only.status).not.toBe(0)
    expect(only.stderr).toMatch(/--only.*no step or run named mnist\/nothing/)
  }, 120_000)
})
