import { fc, test as fcTest } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { tableToArrowIpc } from "../../src/data/table.js"
import { longestFirstMakespan, paperGrid, projectGrid, readEpochCost } from "../../src/pipeline/paper/grid-cost.js"

const runFolder = (summary: object, seconds: number[]): string => {
  const dir = mkdtempSync(join(tmpdir(), "cost-"))
  writeFileSync(join(dir, "summary.json"), JSON.stringify(summary))
  writeFileSync(join(dir, "metrics.arrow"), tableToArrowIpc(seconds.map((s, i) => ({ epoch: i + 1, seconds: s }))))
  return dir
}

describe("the grid's projected cost", () => {
  it("is every run's epochs × rows × seconds per row, with the runs left unmeasured named", () => {
    const grid = paperGrid({ vdl: [0.01, 0.02], sdl: [0.005] }, { vdl: [0.01] })
    expect(grid).toHaveLength(4)
    const projection = projectGrid(
      grid,
      [{ dataset: "mnist", model: "vdl", secondsPerRow: 1e-4, from: "test" }],
      [1, 2]
    )
    expect(projection.runs.map((r) => r.hours)).toEqual([(200 * 55_000 * 1e-4) / 3600, (200 * 55_000 * 1e-4) / 3600])
    expect(projection.unmeasured.map((r) => `${r.dataset}/${r.model}`)).toEqual(["mnist/sdl", "patches/vdl"])
    expect(projection.onWorkers).toEqual([
      { workers: 1, hours: projection.totalHours },
      { workers: 2, hours: projection.runs[0].hours }
    ])
  })

  fcTest.prop([
    fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 30 }),
    fc.integer({ min: 1, max: 12 })
  ])(
    "on N workers lies between the lower bound (the longest run, or an even share) and an even share plus the longest run",
    (durations, workers) => {
      const total = durations.reduce((a, b) => a + b, 0)
      const bound = Math.max(Math.max(...durations), total / workers)
      const makespan = longestFirstMakespan(durations, workers)
      expect(makespan).toBeGreaterThanOrEqual(bound - 1e-9)
      expect(makespan).toBeLessThanOrEqual(total / workers + Math.max(...durations) + 1e-9)
      expect(longestFirstMakespan(durations, 1)).toBeCloseTo(total, 9)
    }
  )

  it("reads a run folder's cost per row from its epochs after the first, and says what a folder lacks", async () => {
    const dir = runFolder({ model: "vdl-nl", data: { train: 1000, mnist: { kind: "dir" } } }, [9, 2, 4])
    const cost = await Effect.runPromise(readEpochCost(dir))
    expect(cost).toMatchObject({ dataset: "mnist", model: "vdl-nl", secondsPerRow: 3 / 1000 })
    const patches = runFolder({ model: "sdl", data: { train: 500, patchFile: "p.bin" } }, [5])
    expect(await Effect.runPromise(readEpochCost(patches))).toMatchObject({
      dataset: "patches",
      secondsPerRow: 5 / 500
    })
    const unknown = runFolder({ model: "sdl", data: { train: 500 } }, [5])
    const failed = await Effect.runPromise(Effect.flip(readEpochCost(unknown)))
    expect(failed.message).toContain("neither MNIST nor a patch file")
    const missing = await Effect.runPromise(Effect.flip(readEpochCost(join(dir, "absent"))))
    expect(missing.message).toMatch(/summary\.json/)
  })

  it("refuses a worker count that is not a whole number, naming it", () => {
    expect(() => longestFirstMakespan([1], 0)).toThrow(/workers: 0/)
  })
})
