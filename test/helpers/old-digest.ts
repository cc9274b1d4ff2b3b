import { Either } from "effect"
import { createHash } from "node:crypto"
import { decodeSafetensors } from "../../src/data/safetensors.js"

/**
 * A checkpoint's dataSha256 as formats 1 and 2 computed it: SHA-256 of the tensors' bytes in the
 * order of the names they gave them (Adam's state was `encoderAdam.m.W`, now `encoder.adam.m.W`),
 * so that a file written today is compared bit for bit with one an older release wrote.
 */
export const digestUnderOldNames = (bytes: Uint8Array): string => {
  const { tensors } = Either.getOrThrow(decodeSafetensors(bytes, "checkpoint"))
  const renamed = Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => [name.replace(/^(encoder|decoder)\.adam\./, "$1Adam."), t.data])
  )
  const hash = createHash("sha256")
  for (const name of Object.keys(renamed).sort())
    hash.update(new Uint8Array(renamed[name].buffer, renamed[name].byteOffset, renamed[name].byteLength))
  return hash.digest("hex")
}
