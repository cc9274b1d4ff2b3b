/**
 * The checks every entry that takes data runs before any work (datasetFromRows, ownDataSplits,
 * the training loop, fit, train): each answers null or a problem that names the row, column or
 * option at fault and the fix, so that bad input never reaches the tensors, where it would fail
 * far from its cause (a NaN as a divergence, a width as a shape error inside a matrix product)
 * or not fail at all (a batch larger than the data trains nothing).
 */
import * as Data from "effect/Data"

/** Input an entry refuses: `entry` is the function (and data set) refusing it, `option` the option the fix is in, when there is one. */
export class InputError extends Data.TaggedError("InputError")<{
  readonly entry: string
  readonly problem: string
  readonly option?: string
}> {
  override get message(): string {
    return `${this.entry}: ${this.problem}`
  }
}

/** What a check found, for an entry to wrap in its own typed error. */
export interface InputProblem {
  readonly problem: string
  /** The option the fix is in, when the fix is an option. */
  readonly option?: string
}

const count = (n: number) => n.toLocaleString("en-US")

/** Where flat index i of rows of `dim` values is, as a reader counts (0-based rows and columns). */
const position = (i: number, dim: number) => `row ${Math.floor(i / dim)}, column ${i % dim}`

/** Every value must be a finite number: a NaN or an infinity would surface epochs later as a divergence. */
export const nonFiniteProblem = (x: ArrayLike<number>, dim: number, what: string): InputProblem | null => {
  let nan = 0
  let infinite = 0
  let first = -1
  for (let i = 0; i < x.length; i++) {
    const v = x[i]
    if (Number.isFinite(v)) continue
    if (Number.isNaN(v)) nan++
    else infinite++
    if (first < 0) first = i
  }
  if (first < 0) return null
  const kinds = [nan > 0 ? `${count(nan)} NaN` : "", infinite > 0 ? `${count(infinite)} infinite` : ""]
    .filter((k) => k !== "")
    .join(" and ")
  return {
    problem: `${what} hold ${kinds} of ${count(x.length)} values, the first at ${position(first, dim)} (${x[first]}); replace them (with 0, or the column's mean) or drop those rows`
  }
}

/**
 * Rows that are pixels (no normalisation given) must lie in [0, 1]: PSNR's peak is 1, and pixels
 * in 0..255 train to codes a hundred times too large without a word.
 */
export const pixelRangeProblem = (
  x: ArrayLike<number>,
  dim: number,
  what: string,
  fix: string
): InputProblem | null => {
  let outside = 0
  let first = -1
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < x.length; i++) {
    const v = x[i]
    if (v < min) min = v
    if (v > max) max = v
    if (v >= 0 && v <= 1) continue
    outside++
    if (first < 0) first = i
  }
  if (first < 0) return null
  const scale = max > 1 && max <= 255 && min >= 0 ? " (they look like 0–255 pixels: divide by 255)" : ""
  return {
    problem: `${what} hold ${count(outside)} values outside [0, 1] (from ${min} to ${max}), the first at ${position(first, dim)} (${x[first]}), but no normalisation is given, so they are taken as pixels in [0, 1]; scale them into [0, 1]${scale}, or ${fix}`
  }
}

/** Every split a model reads must have the training rows' width. */
export const widthProblem = (
  splits: ReadonlyArray<readonly [string, { readonly dim: number } | undefined]>
): InputProblem | null => {
  const [first, ...rest] = splits.filter((s): s is readonly [string, { readonly dim: number }] => s[1] !== undefined)
  if (first === undefined) return null
  const other = rest.find(([, s]) => s.dim !== first[1].dim)
  if (other === undefined) return null
  return {
    problem: `the ${other[0]} rows have ${other[1].dim} values each but the ${first[0]} rows have ${first[1].dim}; give every split rows of the same width (the same image size)`
  }
}

/** Training drops the last partial batch, so fewer rows than a batch would train nothing. */
export const batchProblem = (rows: number, batchSize: number, what: string): InputProblem | null =>
  rows >= batchSize
    ? null
    : {
        problem: `${count(rows)} ${what} rows are fewer than one batch of ${batchSize}, so an epoch would train nothing; set batchSize (--batch-size) to ${rows} or less, or give more rows`,
        option: "batchSize"
      }

/**
 * A backend's name from JavaScript, where the type does not stop a wrong one. The names are
 * passed in so that data checks do not load the backend module (and TensorFlow.js with it).
 */
export const backendProblem = (name: unknown, known: ReadonlyArray<string>): InputProblem | null =>
  name === undefined || (typeof name === "string" && known.includes(name))
    ? null
    : {
        problem: `unknown backend ${JSON.stringify(name)}; choose one of ${known.join(", ")}, or give none to use the fastest that loads`,
        option: "backend"
      }

/** The first problem of several checks, as an InputError of `entry`. */
export const firstInputError = (entry: string, problems: ReadonlyArray<InputProblem | null>): InputError | null => {
  const found = problems.find((p): p is InputProblem => p !== null)
  return found === undefined ? null : new InputError({ entry, ...found })
}
