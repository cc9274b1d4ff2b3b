import wabt from "wabt"

/** The wasm bytes of a kernel's text, with the features the kernels use (SIMD, bulk memory). */
export const assembleKernel = async (text: string, name: string): Promise<Uint8Array> => {
  const tools = await wabt()
  const parsed = tools.parseWat(name, text, { simd: true, bulk_memory: true })
  try {
    parsed.validate()
    return Uint8Array.from(parsed.toBinary({}).buffer)
  } finally {
    parsed.destroy()
  }
}

/** The generated TypeScript module that carries a kernel's bytes. */
export const kernelModuleSource = (name: string, bytes: Uint8Array): string =>
  [
    `// Generated from ${name} by \`npm run kernels\`; do not edit.`,
    `export const wasmBase64 =`,
    `  "${Buffer.from(bytes).toString("base64")}"`,
    ""
  ].join("\n")
