/**
 * Test-only IDX writer: the inverse of parseIdx, so tests and the fixture script can make
 * valid files (and then damage them on purpose).
 */
import { gzipSync } from "node:zlib"

export const IMAGES_MAGIC = 0x00000803
export const LABELS_MAGIC = 0x00000801

/** Header (magic, then one big-endian uint32 per dimension) followed by the payload. */
export const encodeIdx = (magic: number, dims: readonly number[], data: Uint8Array): Uint8Array => {
  const header = new Uint8Array(4 + 4 * dims.length)
  const view = new DataView(header.buffer)
  view.setUint32(0, magic >>> 0)
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d >>> 0))
  const out = new Uint8Array(header.length + data.length)
  out.set(header)
  out.set(data, header.length)
  return out
}

export const encodeImages = (count: number, rows: number, cols: number, pixels: Uint8Array): Uint8Array =>
  encodeIdx(IMAGES_MAGIC, [count, rows, cols], pixels)

export const encodeLabels = (labels: Uint8Array): Uint8Array => encodeIdx(LABELS_MAGIC, [labels.length], labels)

/** gzip without a timestamp, so the same input always gives the same bytes (stable fixtures). */
export const gzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes, { level: 9 }))
