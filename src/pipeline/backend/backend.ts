import * as tf from "@tensorflow/tfjs-core"
import { Context, Effect, Layer } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { availableParallelism } from "node:os"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { describePass, type InferencePass, inferencePassProblem, passForBackend } from "../../models/inference/pass.js"
import { type Linalg, tfjsLinalg } from "../../models/linalg.js"
import { BackendError } from "../errors.js"
import { installNativeMatMul, NativeBlasError } from "./native-matmul.js"
import { heapElementwise, heapEntryCounts } from "./heap-updates.js"

import { backendNames, type BackendName } from "../choices.js"
export { backendNames, type BackendName }

export interface BackendInfo {
  readonly name: BackendName
  /** Who computes the matrix products: the backend's own kernels, or a native BLAS. */
  readonly matmul: string
  /**
   * The products and in-place updates that go with them, for makeModel and the other makers, and
   * where inference's per-entry pass runs (linalg.inferencePass): the one value that carries the
   * choice to inference.
   */
  readonly linalg: Linalg
  /** Whether tensors live on a device of the backend's own (libtensorflow's), not in JavaScript memory. */
  readonly hasDevice: boolean
  /** Why each faster backend was passed over, for the log and the run summary. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>
}

/** The loaded tfjs backend; its value is what the maths is handed to compute with. */
export class Backend extends Context.Tag("sparse-vdl/Backend")<Backend, BackendInfo>() {}

const require = createRequire(import.meta.url)

/**
 * tfjs-node ships its native addon through an install script that downloads libtensorflow. Where
 * that failed or was not allowed, the package is present without the addon and importing it
 * registers kernels before it throws, so check for the addon file first.
 */
const nativeAddonProblem = (pkg: string): string | null => {
  let root: string
  try {
    root = dirname(require.resolve(`${pkg}/package.json`))
  } catch {
    return `${pkg} is not installed (it is optional: npm installs it where its libtensorflow download succeeds)`
  }
  const lib = join(root, "lib")
  const hasAddon =
    existsSync(lib) &&
    readdirSync(lib).some((d) => d.startsWith("napi-v") && existsSync(join(lib, d, "tfjs_binding.node")))
  return hasAddon ? null : `${pkg} is installed without its native addon (its install script did not run or failed)`
}

const activate = (tfName: string): Effect.Effect<void, string> =>
  Effect.tryPromise({
    try: async () => {
      const ok = await tf.setBackend(tfName)
      if (!ok) throw new Error(`tf.setBackend("${tfName}") returned false`)
      await tf.ready()
    },
    catch: (e) => (e instanceof Error ? e.message : String(e))
  })

const importModule = (pkg: string): Effect.Effect<void, string> =>
  Effect.tryPromise({
    try: () => import(pkg),
    catch: (e) => (e instanceof Error ? e.message.split("\n")[0] : String(e))
  })

const gpuVisible = (): boolean =>
  tf.engine().backendNames().includes("tensorflow") &&
  (() => {
    try {
      // tfjs-node-gpu falls back to the CPU build when CUDA is missing; the binding says which.
      const binding = (tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } }).binding
      return binding?.isUsingGpuDevice?.() ?? true
    } catch {
      return true
    }
  })()

const tryLoad = (name: BackendName): Effect.Effect<void, string> => {
  switch (name) {
    case "tensorflow-gpu": {
      const problem = nativeAddonProblem("@tensorflow/tfjs-node-gpu")
      if (problem !== null) return Effect.fail(problem)
      return importModule("@tensorflow/tfjs-node-gpu").pipe(
        Effect.zipRight(activate("tensorflow")),
        Effect.filterOrFail(gpuVisible, () => "libtensorflow loaded but sees no CUDA GPU")
      )
    }
    case "tensorflow": {
      const problem = nativeAddonProblem("@tensorflow/tfjs-node")
      if (problem !== null) return Effect.fail(problem)
      return importModule("@tensorflow/tfjs-node").pipe(Effect.zipRight(activate("tensorflow")))
    }
    case "wasm":
      return importModule("@tensorflow/tfjs-backend-wasm").pipe(Effect.zipRight(activate("wasm")))
    case "cpu":
      return importModule("@tensorflow/tfjs-backend-cpu").pipe(Effect.zipRight(activate("cpu")))
  }
}

export const parseBackendName = (raw: string): Effect.Effect<BackendName, BackendError> =>
  (backendNames as ReadonlyArray<string>).includes(raw)
    ? Effect.succeed(raw as BackendName)
    : Effect.fail(
        new BackendError({ backend: raw, problem: `unknown backend; choose one of ${backendNames.join(", ")}` })
      )

/**
 * On wasm, matrix products go to the machine's BLAS when one loads (SPARSE_VDL_BLAS=off keeps
 * XNNPACK; SPARSE_VDL_BLAS=/path/to/libblas.so picks a library, and one that does not load is
 * an error rather than a quiet fall-back, since the person asked for it; SPARSE_VDL_BLAS_THREADS
 * sets its threads, default every core: a sweep gives each of its runs 1, so that runs in
 * parallel do not oversubscribe the cores).
 */
const accelerate = (
  name: BackendName
): Effect.Effect<{ readonly matmul: string; readonly linalg: Linalg }, NativeBlasError> =>
  Effect.gen(function* () {
    if (name !== "wasm") return { matmul: "backend kernels", linalg: tfjsLinalg }
    const setting = process.env.SPARSE_VDL_BLAS
    // Counts and the element-wise steps write only fresh results, which no kernel has cached yet;
    // the optimizers' updates in place wait for native products: XNNPACK keeps a packed copy of
    // every weight matrix it has multiplied, by tensor, which a write in place would leave stale.
    const xnnpack = { ...tfjsLinalg, entryCounts: heapEntryCounts(), elementwise: heapElementwise() }
    if (setting === "off") return { matmul: "XNNPACK (SPARSE_VDL_BLAS=off)", linalg: xnnpack }
    const threads = Number(process.env.SPARSE_VDL_BLAS_THREADS ?? availableParallelism())
    const explicit = setting !== undefined && setting !== ""
    const installed = installNativeMatMul({
      ...(explicit ? { library: setting } : {}),
      threads: Number.isInteger(threads) && threads > 0 ? threads : 1
    })
    if (typeof installed === "string") {
      if (explicit) return yield* Effect.fail(new NativeBlasError({ library: setting, problem: installed }))
      yield* Effect.logDebug(`no native BLAS: ${installed}`)
      return { matmul: "XNNPACK (no native BLAS found)", linalg: xnnpack }
    }
    return {
      matmul: `native BLAS ${installed.library}, ${installed.threads ?? "default"} thread(s)`,
      linalg: installed.linalg
    }
  })

/** The backends whose tensors live outside JavaScript memory, where inference keeps its iterates. */
const hasDevice = (name: BackendName): boolean => name === "tensorflow" || name === "tensorflow-gpu"

/**
 * Where inference's per-entry pass runs: SPARSE_VDL_INFERENCE_PASS when set (device, wasm-simd or
 * javascript; a wrong name fails here, at start, rather than in the first batch), else the
 * backend's own choice.
 */
const inferencePassFor = (name: BackendName): Effect.Effect<InferencePass, BackendError> => {
  const setting = process.env.SPARSE_VDL_INFERENCE_PASS
  if (setting === undefined || setting === "") return Effect.succeed(passForBackend(hasDevice(name)))
  const problem = inferencePassProblem(setting)
  return problem === null
    ? Effect.succeed(setting as InferencePass)
    : Effect.fail(
        new BackendError({
          backend: name,
          problem: `SPARSE_VDL_INFERENCE_PASS: ${problem}`,
          fix: "Set SPARSE_VDL_INFERENCE_PASS to one of those, or unset it to let the backend choose."
        })
      )
}

/** The backend's info, with the inference pass carried by its products, and the log line. */
const withPass = (
  name: BackendName,
  how: string,
  skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>
): Effect.Effect<BackendInfo, BackendError | NativeBlasError> =>
  Effect.gen(function* () {
    const pass = yield* inferencePassFor(name)
    const { matmul, linalg } = yield* accelerate(name)
    yield* Effect.logInfo(`backend: ${name}${how}; matrix products: ${matmul}; ${describePass(pass)}`)
    return { name, matmul, linalg: { ...linalg, inferencePass: pass }, hasDevice: hasDevice(name), skipped }
  })

/**
 * Load the requested backend, or the fastest one that loads, and log the choice in one short
 * line; why each faster one was skipped goes to the debug log level and into
 * the returned info.
 */
export const selectBackend = (requested?: BackendName): Effect.Effect<BackendInfo, BackendError | NativeBlasError> =>
  Effect.gen(function* () {
    if (requested !== undefined) {
      // From JavaScript any string gets here; tryLoad knows only the names.
      yield* parseBackendName(requested)
      yield* tryLoad(requested).pipe(Effect.mapError((problem) => new BackendError({ backend: requested, problem })))
      return yield* withPass(requested, " (as requested)", [])
    }
    const skipped: Array<{ name: BackendName; reason: string }> = []
    for (const name of backendNames) {
      const loaded = yield* Effect.either(tryLoad(name))
      if (loaded._tag === "Right") {
        for (const s of skipped) yield* Effect.logDebug(`backend ${s.name} skipped: ${s.reason}`)
        const passed =
          skipped.length === 0
            ? ""
            : ` (${skipped.map((s) => s.name).join(", ")} not available; the debug log says why)`
        return yield* withPass(name, passed, skipped)
      }
      skipped.push({ name, reason: loaded.left })
    }
    return yield* Effect.fail(
      new BackendError({ backend: "any", problem: skipped.map((s) => `${s.name}: ${s.reason}`).join("; ") })
    )
  })

export const BackendLive = (requested?: BackendName): Layer.Layer<Backend, BackendError | NativeBlasError> =>
  Layer.effect(Backend, selectBackend(requested))
