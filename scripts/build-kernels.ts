/**
 * Assembles the WebAssembly kernels of src/models/inference/kernels and src/pipeline/backend/kernels from their text (.wat) into
 * TypeScript modules that carry the bytes, so that the library loads them without reading a file.
 * Run by `npm run kernels` after editing a .wat; a test checks the committed bytes are current.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assembleKernel, kernelModuleSource } from "./kernel-source.js"

const root = join(import.meta.dirname, "..", "src")
const folders = [join(root, "models", "inference", "kernels"), join(root, "pipeline", "backend", "kernels")]
for (const [folder, name] of folders.flatMap((f) => readdirSync(f).map((n) => [f, n] as const))) {
  if (!name.endsWith(".wat")) continue
  const bytes = await assembleKernel(readFileSync(join(folder, name), "utf8"), name)
  const target = join(folder, name.replace(/\.wat$/, ".wasm.ts"))
  writeFileSync(`${target}.tmp`, kernelModuleSource(name, bytes))
  renameSync(`${target}.tmp`, target)
  console.log(`${name}: ${bytes.length} bytes → ${target}`)
}
