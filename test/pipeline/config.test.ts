import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { variants } from "../../src/models/variants.js"
import { parseBackendName, selectBackend } from "../../src/pipeline/backend/backend.js"
import { inferenceMethods } from "../../src/models/inference/registry.js"
import { decodeSettings, ModelSettings, settingDocs, settingNames } from "../../src/models/settings.js"
import { codeTermKinds } from "../../src/models/terms/registry.js"
import { resolveSettings } from "../../src/pipeline/train/config.js"

describe("settings", () => {
  it.effect("a preset with no overrides is the paper's setting", () =>
    Effect.gen(function* () {
      const s = yield* resolveSettings("vdl-nl", "mnist", {})
      expect(s).toEqual(variants["vdl-nl"].settings.mnist)
      expect(s).toMatchObject({ lambda: 0.01, beta: 10, tau: 0.5, gamma: 100, covariance: 0, inference: "fista" })
      expect(s.hidden).toEqual([1024])
      expect(s.decoderLrHalvingEvery).toBe(30)
    })
  )

  it.effect("overrides replace single fields and keep the rest", () =>
    Effect.gen(function* () {
      const s = yield* resolveSettings("sdl", "patches", { lambda: 0.02, eta: "lipschitz", hidden: [64, 32] })
      expect(s.lambda).toBe(0.02)
      expect(s.eta).toBe("lipschitz")
      expect(s.hidden).toEqual([64, 32])
      expect(s.codeDim).toBe(256)
      expect(s.unitNormAtoms).toBe(true)
    })
  )

  it.effect.each([
    [{ lambda: -1 }, "lambda"],
    [{ batchSize: 1 }, "batchSize"],
    [{ eta: 0 }, "eta"],
    [{ hidden: [0] }, "hidden"],
    [{ tol: Number.NaN }, "tol"],
    [{ covariance: -0.5 }, "covariance"],
    [{ inference: "newton" }, "inference"],
    [{ lamda: 0.1 }, "lamda"],
    [{ gamma: 100, codeDim: 16 }, "eta"]
  ] as const)("refuses %j naming the setting %s", ([raw, setting]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(resolveSettings("vdl", "mnist", raw))
      expect(error._tag).toBe("SettingsError")
      expect(error.setting).toBe(setting)
      // A library message names settings, never a command line's options.
      expect(error.message).not.toMatch(/--/)
    })
  )

  it("settings of the first checkpoint format (grouped energy and FISTA options) decode to today's", () => {
    const preset = variants["vdl-nl"].settings.mnist
    const { lambda, beta, tau, gamma, eta, maxSteps, tol, covariance: _c, inference: _i, ...rest } = preset
    const old = {
      ...rest,
      energy: { lambda, beta, tau, gamma },
      fista: { maxSteps, tol, step: { kind: "fixed", eta } }
    }
    expect(Either.getOrThrow(decodeSettings(old))).toEqual(preset)
    const lipschitz = { ...old, fista: { maxSteps, tol, step: { kind: "lipschitz" } } }
    expect(Either.getOrThrow(decodeSettings(lipschitz)).eta).toBe("lipschitz")
    expect(Either.isLeft(decodeSettings({ ...old, energy: { ...old.energy, lambda: -1 } }))).toBe(true)
  })

  it("every setting has its documentation, and every registered term and inference method is a setting", () => {
    expect(new Set(settingNames)).toEqual(new Set(Object.keys(ModelSettings.fields)))
    for (const kind of codeTermKinds)
      for (const field of Object.keys(kind.fields)) expect(settingNames).toContain(field)
    expect(settingDocs.inference.cli).toEqual({ choices: inferenceMethods.map((m) => m.name) })
  })

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
