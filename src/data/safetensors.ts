import { Data, Either } from "effect"

/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw data): simple, safe to read, and opened
 * directly by PyTorch and NumPy users with the `safetensors` package. Only float32 is written.
 */
export interface NamedArray {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

export class SafetensorsError extends Data.TaggedError("SafetensorsError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file} is not a readable safetensors checkpoint: ${this.problem}. Point to a checkpoint.safetensors written by this program, or start a new run.`
  }
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8

export const encodeSafetensors = (
  tensors: Readonly<Record<string, NamedArray>>,
  metadata: Readonly<Record<string, string>> = {}
): Uint8Array => {
  const names = Object.keys(tensors).sort()
  const header: Record<string, unknown> = { __metadata__: metadata }
  let offset = 0
  for (const name of names) {
    const t = tensors[name]
    const expected = t.shape.reduce((a, b) => a * b, 1)
    if (expected !== t.data.length)
      throw new RangeError(`tensor ${name}: shape [${t.shape}] needs ${expected} values, got ${t.data.length}`)
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] }
    offset += t.data.byteLength
  }
  // The header is padded with spaces to a multiple of 8 so the data is aligned for float views.
  let json = JSON.stringify(header)
  json += " ".repeat(align8(json.length) - json.length)
  const headerBytes = new TextEncoder().encode(json)
  const padded = align8(headerBytes.length)
  const out = new Uint8Array(8 + padded + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(padded), true)
  out.set(headerBytes, 8)
  out.fill(0x20, 8 + headerBytes.length, 8 + padded)
  let at = 8 + padded
  for (const name of names) {
    const t = tensors[name]
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at)
    at += t.data.byteLength
  }
  return out
}

export interface Safetensors {
  readonly tensors: Readonly<Record<string, NamedArray>>
  readonly metadata: Readonly<Record<string, string>>
}

export const decodeSafetensors = (bytes: Uint8Array, file: string): Either.Either<Safetensors, SafetensorsError> => {
  const fail = (problem: string) => Either.left(new SafetensorsError({ file, problem }))
  if (bytes.length < 8) return fail(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (headerLength > bytes.length - 8)
    return fail(
      `the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length field (truncated?)`
    )
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)))
  } catch (e) {
    return fail(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    return fail("the header is not a JSON object")
  const dataStart = 8 + headerLength
  const dataLength = bytes.length - dataStart
  const tensors: Record<string, NamedArray> = {}
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object") return fail("__metadata__ is not an object")
      metadata = Object.fromEntries(Object.entries(entry as object).map(([k, v]) => [k, String(v)]))
      continue
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (e?.dtype !== "F32") return fail(`tensor ${name} has dtype ${String(e?.dtype)}; only F32 is supported`)
    if (!Array.isArray(e.shape) || !e.shape.every((s) => Number.isInteger(s) && s >= 0))
      return fail(`tensor ${name} has an invalid shape`)
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      return fail(`tensor ${name} has invalid data_offsets`)
    const [begin, end] = e.data_offsets as number[]
    const shape = e.shape as number[]
    const count = shape.reduce((a, b) => a * b, 1)
    if (
      !Number.isInteger(begin) ||
      !Number.isInteger(end) ||
      begin < 0 ||
      end > dataLength ||
      end - begin !== count * 4
    ) {
      return fail(
        `tensor ${name}: byte range [${begin}, ${end}) does not hold ${count} float32 values within the ${dataLength} data bytes`
      )
    }
    // Copy: the data may not be 4-byte aligned in the caller's buffer, and the copy owns its memory.
    const copy = new Uint8Array(end - begin)
    copy.set(bytes.subarray(dataStart + begin, dataStart + end))
    tensors[name] = { shape, data: new Float32Array(copy.buffer) }
  }
  return Either.right({ tensors, metadata })
}
