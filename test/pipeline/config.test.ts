import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { variants } from "../../src/models/variants.js"
import { parseBackendName, selectBackend } from "../../src/pipeline/backend.js"
import { resolveSettings } from "../../src/pipeline/config.js"

describe("settings", () => {
  it.effect("a preset with no overrides is the paper's setting", () =>
    Effect.gen(function* () {
      const s = yield* resolveSettings("vdl-nl", "mnist", {})
      expect(s).toEqual(variants["vdl-nl"].settings.mnist)
      expect(s.energy).toEqual({ lambda: 0.01, beta: 10, tau: 0.5, gamma: 100 })
      expect(s.hidden).toEqual([1024])
      expect(s.decoderLrHalvingEvery).toBe(30)
    })
  )

  it.effect("overrides replace single fields and keep the rest", () =>
    Effect.gen(function* () {
      const s = yield* resolveSettings("sdl", "patches", { lambda: 0.02, eta: "lipschitz", hidden: [64, 32] })
      expect(s.energy.lambda).toBe(0.02)
      expect(s.fista.step).toEqual({ kind: "lipschitz" })
      expect(s.hidden).toEqual([64, 32])
      expect(s.codeDim).toBe(256)
      expect(s.unitNormAtoms).toBe(true)
    })
  )

  it.effect.each([
    [{ lambda: -1 }, "--lambda"],
    [{ batchSize: 1 }, "--batch-size"],
    [{ eta: 0 }, "--eta"],
    [{ hidden: [0] }, "--hidden"],
    [{ tol: Number.NaN }, "--tol"],
    [{ gamma: 100, codeDim: 16 }, "--eta"]
  ] as const)("refuses %j naming %s", ([raw, option]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(resolveSettings("vdl", "mnist", raw))
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toContain(option)
    })
  )

  it.effect("an unknown model lists the known ones", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(resolveSettings("vdl2", "mnist", {}))
      expect(error.message).toContain("sdl, sdl-nl, vdl, vdl-nl")
    })
  )
})

describe("backend", () => {
  it.effect("an unknown name lists the choices", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseBackendName("gpu"))
      expect(error.message).toContain("tensorflow-gpu, tensorflow, wasm, cpu")
    })
  )

  it.effect("picks the fastest backend that loads and says why the others were skipped", () =>
    Effect.gen(function* () {
      const info = yield* selectBackend()
      const order = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"]
      expect(order.indexOf(info.name)).toBe(info.skipped.length)
      for (const s of info.skipped) expect(s.reason.length).toBeGreaterThan(10)
    })
  )

  it.effect("loads an explicit choice", () =>
    Effect.gen(function* () {
      const info = yield* selectBackend("cpu")
      expect(info.name).toBe("cpu")
    })
  )
})
