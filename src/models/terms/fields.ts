import * as Schema from "effect/Schema"

/** The number schemas settings are made of; a value the maths cannot use is refused by decoding. */
export const NonNegative = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())
export const Positive = Schema.Number.pipe(Schema.positive(), Schema.finite())
export const Count = Schema.Int.pipe(Schema.nonNegative())
export const PositiveInt = Schema.Int.pipe(Schema.positive())

/**
 * A weight that switches its term off at 0. Settings written before the term existed, and presets
 * that do not name it, decode with the term off.
 */
export const OptionalWeight = Schema.optionalWith(NonNegative, { default: () => 0, exact: true })
