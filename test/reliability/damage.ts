/**
 * Random damage to a file's bytes, shared by the fuzz tests: bit flips, cuts, bytes appended or
 * overwritten, and (where asked for) a 32-bit field set to an extreme. Half the damage goes to the
 * file's first bytes, where headers and lengths decide how the rest is parsed.
 */
import * as fc from "fast-check"
import { between } from "../helpers/between.js"

/** 32-bit values at the edges the IDX and checkpoint readers check. */
export const extremes = fc.constantFrom(0, 1, 2, 3, 27, 28, 29, 0x801, 0x803, 0x7fffffff, 0x80000000, 0xffffffff)

export const damageArbitrary = (o: { readonly maxBytes: number; readonly uint32: boolean }) =>
  fc.record({
    kind: o.uint32
      ? fc.constantFrom(
          "flip" as const,
          "truncate" as const,
          "append" as const,
          "overwrite" as const,
          "uint32" as const
        )
      : fc.constantFrom("flip" as const, "truncate" as const, "append" as const, "overwrite" as const),
    p: between(0, 1),
    bit: fc.integer({ min: 0, max: 7 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: o.maxBytes }),
    value: fc.oneof(extremes, fc.integer({ min: 0, max: 0xffffffff })),
    le: fc.boolean(),
    inPrefix: fc.boolean()
  })

export type Damage = typeof damageArbitrary extends (o: never) => fc.Arbitrary<infer D> ? D : never

/** The bytes with every piece of damage applied in turn; `prefix` is how many first bytes count as the header. */
export const applyDamage = (bytes: Uint8Array, ds: ReadonlyArray<Damage>, prefix: number): Uint8Array => {
  let out = Uint8Array.from(bytes)
  for (const d of ds) {
    const span = d.inPrefix ? Math.min(out.length, prefix) : out.length
    const at = Math.floor(d.p * Math.max(1, span))
    switch (d.kind) {
      case "flip":
        if (out.length > 0) out[Math.min(at, out.length - 1)] ^= 1 << d.bit
        break
      case "truncate":
        out = out.subarray(0, Math.floor(d.p * out.length))
        break
      case "append": {
        const longer = new Uint8Array(out.length + d.bytes.length)
        longer.set(out)
        longer.set(d.bytes, out.length)
        out = longer
        break
      }
      case "overwrite":
        out.set(d.bytes.subarray(0, Math.max(0, out.length - at)), Math.min(at, out.length))
        break
      case "uint32":
        if (out.length >= 4)
          new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(
            Math.min(at - (at % 4), out.length - 4),
            d.value >>> 0,
            d.le
          )
        break
    }
  }
  return out
}
