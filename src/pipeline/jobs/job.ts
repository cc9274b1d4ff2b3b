/**
 * A queued run as it travels through Redis, and what a worker checks before it runs one. Anything
 * can be pushed into the queue, not only what `sweep --queue` submits, so a worker decodes every
 * job with the Schema below, lets through only the options of the job's command, and keeps every
 * path the job names under its --root (inputs also under its --input-root folders).
 */
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import { readdir, realpath, stat } from "node:fs/promises"
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import { ModelSettings } from "../../models/settings.js"
import { danglingLink, nameProblem } from "./bounds.js"

/**
 * The command a run is, by the name the command line's registry gives it (src/cli/commands/
 * registry.ts): `train` (MNIST), `train-data` (a vector or image file) or `patches-train` (a patch
 * file). The library keeps no list of them: a worker is given the commands it runs, with their
 * options, as plain data (WorkerOptions.commandOptions).
 */
export type JobCommand = string
/** A job's command, one of `names`. */
export const JobCommand = (names: ReadonlyArray<string>) =>
  Schema.String.pipe(
    Schema.filter((s) => names.includes(s), {
      message: (issue) =>
        `must be one of ${names.map((c) => JSON.stringify(c)).join(", ")}, not ${JSON.stringify(issue.actual)}`
    })
  )

const PositiveInt = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))

/** The MNIST data a run was trained on, as the train command records it (src/pipeline/sources/mnist.ts MnistSource). */
export const MnistSourceSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("dir"), dir: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("download") }),
  Schema.Struct({ kind: Schema.Literal("embedded") })
)

/**
 * The data a finished run must record: MNIST (the train command) with its source and training
 * size, or a file of one's own (train-data: the Arrow file or the image folder) with, optionally,
 * the number of rows it held (train + validation + test).
 */
export const ExpectedData = Schema.Union(
  Schema.TaggedStruct("mnist", { mnist: MnistSourceSchema, trainSize: Schema.NullOr(PositiveInt) }),
  Schema.TaggedStruct("file", { path: Schema.String, rows: Schema.optionalWith(PositiveInt, { exact: true }) })
)
export type ExpectedData = typeof ExpectedData.Type

/**
 * What a finished run's summary.json must say for the sweep to count it as the run it asked for:
 * the same model, seed, epochs, fully resolved settings and data. A folder left by an interrupted
 * run, or by a run with other settings, does not match and is run again.
 */
export const ExpectedRun = Schema.Struct({
  model: Schema.NonEmptyString,
  seed: Schema.Int,
  epochs: PositiveInt,
  settings: ModelSettings,
  data: ExpectedData,
  /** null: whichever backend the run picked. */
  backend: Schema.NullOr(Schema.String)
})
export type ExpectedRun = typeof ExpectedRun.Type

/** Text without control characters (a NUL would cut a path short; a newline would forge a log line). */
const Text = (max: number) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => "it is empty" }),
    Schema.maxLength(max),
    Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s), { message: () => "it holds a control character" })
  )

/**
 * A job's payload: one run, with its folder (`out`) and every path in its arguments relative to
 * the sweep's root (absolute input paths outside it are allowed only where the worker allows
 * them). `args` are the command's own options without --out, which the worker adds.
 */
export const RunJob = Schema.Struct({
  name: Text(200),
  model: Schema.NonEmptyString,
  lambda: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  /** Checked against the worker's commands when it decodes the job (decodeJob). */
  command: Schema.String,
  out: Text(4096),
  args: Schema.Array(
    Schema.String.pipe(
      Schema.filter((s) => !/[\u0000\n\r]/.test(s), { message: () => "it holds a NUL or a line break" })
    )
  ),
  expected: ExpectedRun
})
export type RunJob = typeof RunJob.Type

/** A job a worker will not run, with the field (or option) at fault; it fails at once, without a retry. */
export class JobRefused extends Data.TaggedError("JobRefused")<{
  readonly job: string
  readonly field: string
  readonly problem: string
}> {
  override get message(): string {
    return `job ${this.job} refused (not retried): ${this.field}: ${this.problem}`
  }
}

/** A Schema's refusal as "field: problem", the first field at fault first. */
const describeIssues = (error: ParseResult.ParseError): { readonly field: string; readonly problem: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const [first] = issues
  const at = (path: ReadonlyArray<PropertyKey>) => (path.length === 0 ? "the payload" : path.map(String).join("."))
  if (first === undefined) return { field: "the payload", problem: error.message }
  const more =
    issues.length > 1
      ? ` (and ${issues.length - 1} more: ${issues
          .slice(1, 4)
          .map((i) => at(i.path))
          .join(", ")})`
      : ""
  const problem =
    first._tag === "Unexpected"
      ? "is not a field of a job"
      : first._tag === "Missing"
        ? "is missing"
        : first.message.length > 160
          ? `has the wrong form (${first.message.slice(first.message.lastIndexOf(", actual ") + 2)})`
          : first.message
  return { field: at(first.path), problem: `${problem}${more}` }
}

/**
 * The payload decoded, unknown fields included as errors, its command one of `commands`; the
 * message names the first field at fault.
 */
export const decodeJob = (
  data: unknown,
  job: string,
  commands: ReadonlyArray<JobCommand>
): Either.Either<RunJob, JobRefused> =>
  Schema.decodeUnknownEither(Schema.Struct({ ...RunJob.fields, command: JobCommand(commands) }), {
    onExcessProperty: "error",
    errors: "all"
  })(data).pipe(Either.mapLeft((error) => new JobRefused({ job, ...describeIssues(error) })))

/** How the worker reads one option of a command: whether it takes a value, and whether that value is a path. */
export interface OptionSpec {
  readonly takesValue: boolean
  /** "input": read only (data); "output": written (the run folder); null: not a path. */
  readonly path: "input" | "output" | null
}
/**
 * The options one command takes, by flag. The command line builds it from the option definitions
 * the command parses its own command line with (src/cli/option-usage.ts), so the two cannot drift.
 */
export type OptionTable = ReadonlyMap<string, OptionSpec>

/** A folder paths may lie under: as given, and with its symbolic links resolved. */
export interface Confinement {
  readonly path: string
  readonly real: string
}

/** A folder to confine paths to; it must exist (a worker given a mistyped mount must not create it). */
export const confinement = (path: string): Effect.Effect<Confinement, string> =>
  Effect.tryPromise({
    try: () => realpath(resolve(path)),
    catch: (e) => {
      const code = (e as { code?: string }).code
      return code === "ENOENT"
        ? `${resolve(path)} does not exist; give an existing folder (the sweep folder as this machine sees it)`
        : `${resolve(path)} cannot be used (${code ?? String(e)})`
    }
  }).pipe(Effect.map((real) => ({ path: resolve(path), real })))

const inside = (real: string, base: string): boolean =>
  real === base || real.startsWith(base.endsWith(sep) ? base : base + sep)

/**
 * Where a path really leads: the deepest part of it that exists with its links resolved, and the
 * rest appended (the rest does not exist yet, so it cannot be a link).
 */
const realTarget = async (path: string): Promise<string> => {
  let existing = path
  const rest: string[] = []
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse())
    } catch (e) {
      const code = (e as { code?: string }).code
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e
      const parent = dirname(existing)
      if (parent === existing) return path
      rest.push(existing.slice(parent.length).replace(/^[/\\]+/, ""))
      existing = parent
    }
  }
}

/** A long text cut for a message: a refusal names the thing, it need not repeat 10 MB of it. */
const shorten = (text: string, max = 80): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

const holdsRun = (dir: string): Promise<boolean> =>
  Promise.all(
    ["last.safetensors", "summary.json"].map((f) =>
      stat(join(dir, f)).then(
        () => true,
        () => false
      )
    )
  ).then((found) => found.some((x) => x))

/**
 * Whether a run folder would lie inside another run's folder (a folder between the root and it
 * holds a run), or hold another run's folder (a folder right inside it does): a job's files go
 * into a folder of its own, never among another run's. null: neither.
 */
const nestedRun = (rootReal: string, outReal: string): Effect.Effect<string | null> =>
  Effect.promise(async () => {
    for (let dir = dirname(outReal); dir !== rootReal && inside(dir, rootReal); dir = dirname(dir)) {
      if (await holdsRun(dir)) return `lies inside ${dir}, the folder of another run`
    }
    const children = await readdir(outReal, { withFileTypes: true }).catch(() => [])
    for (const child of children) {
      if (child.isDirectory() && (await holdsRun(join(outReal, child.name))))
        return `holds ${join(outReal, child.name)}, the folder of another run`
    }
    return null
  })

/** Whether `path` (absolute) leads, links resolved, to somewhere under one of `bases`. */
export const leadsUnder = (path: string, bases: ReadonlyArray<Confinement>): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const real = await realTarget(path).catch(() => null)
    return real !== null && bases.some((b) => inside(real, b.real))
  })

/** Where a worker's runs may write (root) and read (root and inputRoots). */
export interface WorkerPlaces {
  readonly root: Confinement
  readonly inputRoots: ReadonlyArray<Confinement>
}

/** A job made into the run this worker starts: every path absolute, the arguments checked, --out added. */
export interface CheckedRun extends RunRequest {
  readonly command: JobCommand
}

/**
 * The job's folder and arguments checked against the worker's places and the command's options.
 * Refused: an option the command does not take, a word that is no option, a folder outside the
 * root (by `..`, an absolute path, or a link that leads out), an input outside the root and the
 * input roots, an --out or --resume other than the job's own folder.
 */
export const checkJob = (
  job: RunJob,
  id: string,
  places: WorkerPlaces,
  tables: Readonly<Record<JobCommand, OptionTable>>
): Effect.Effect<CheckedRun, JobRefused> =>
  Effect.gen(function* () {
    const refuse = (field: string, problem: string) => Effect.fail(new JobRefused({ job: id, field, problem }))
    const root = places.root
    const out = resolve(root.path, job.out)
    // Told apart from a path that leads out: the file system cannot hold it, or a link goes nowhere.
    const unnamable = nameProblem(job.out)
    if (unnamable !== null)
      return yield* refuse("out", `${JSON.stringify(shorten(job.out))} cannot be a folder: ${unnamable}`)
    const dangling = yield* danglingLink(root.path, out)
    if (dangling !== null) {
      return yield* refuse(
        "out",
        `${JSON.stringify(job.out)} goes through the link ${dangling.link}, whose target ${dangling.target} does not exist; a run folder must be a folder, or a new name, under the root`
      )
    }
    if (!(yield* leadsUnder(out, [root])) || out === root.path) {
      return yield* refuse(
        "out",
        `${JSON.stringify(job.out)} leads outside the worker's root ${root.path} (a run folder must be a folder inside it: no "..", no absolute path elsewhere, no link out)`
      )
    }
    const outReal = yield* Effect.promise(() => realTarget(out))
    if (outReal === root.real)
      return yield* refuse(
        "out",
        `${JSON.stringify(job.out)} is the worker's root itself; a run folder must be a folder inside it`
      )
    const nested = yield* nestedRun(root.real, outReal)
    if (nested !== null)
      return yield* refuse("out", `${JSON.stringify(job.out)} ${nested}; a job writes only in a folder of its own`)
    const table = tables[job.command]
    if (table === undefined)
      return yield* refuse(
        "command",
        `${JSON.stringify(job.command)} is not a command this worker runs (${Object.keys(tables).join(", ")})`
      )
    const args: string[] = []
    for (let i = 0; i < job.args.length; i++) {
      const word = job.args[i]
      if (!word.startsWith("--"))
        return yield* refuse(
          `args[${i}]`,
          `${JSON.stringify(word)} is not an option of ${job.command} (every argument is an option or the value that follows one)`
        )
      const eq = word.indexOf("=")
      const flag = eq > 0 ? word.slice(0, eq) : word
      const spec = table.get(flag)
      if (spec === undefined)
        return yield* refuse(
          `args[${i}]`,
          `${flag} is not an option of ${job.command}; a job may pass only that command's options`
        )
      if (!spec.takesValue) {
        if (eq > 0) return yield* refuse(`args[${i}]`, `${flag} takes no value`)
        args.push(flag)
        continue
      }
      const value = eq > 0 ? word.slice(eq + 1) : job.args[++i]
      if (value === undefined) return yield* refuse(`args[${i - 1}]`, `${flag} needs a value`)
      if (spec.path === null) {
        args.push(flag, value)
        continue
      }
      const path = resolve(root.path, value)
      const badName = nameProblem(value)
      if (badName !== null)
        return yield* refuse(`args (${flag})`, `${JSON.stringify(shorten(value))} cannot be a path: ${badName}`)
      const goesNowhere = yield* danglingLink(root.path, path)
      if (goesNowhere !== null)
        return yield* refuse(
          `args (${flag})`,
          `${JSON.stringify(value)} goes through the link ${goesNowhere.link}, whose target ${goesNowhere.target} does not exist`
        )
      if (spec.path === "output") {
        if (!(yield* leadsUnder(path, [root])))
          return yield* refuse(
            `args (${flag})`,
            `${JSON.stringify(value)} leads outside the worker's root ${root.path}`
          )
        if ((yield* Effect.promise(() => realTarget(path))) !== outReal) {
          return yield* refuse(
            `args (${flag})`,
            `${JSON.stringify(value)} is not the job's own folder (out ${JSON.stringify(job.out)})`
          )
        }
        // The worker gives --out itself, and --resume when the folder holds a run to continue.
        continue
      }
      if (!(yield* leadsUnder(path, [root, ...places.inputRoots]))) {
        const also =
          places.inputRoots.length === 0
            ? " (a worker reads data elsewhere only from the folders given to its --input-root)"
            : ` or its --input-root folders (${places.inputRoots.map((r) => r.path).join(", ")})`
        return yield* refuse(
          `args (${flag})`,
          `${JSON.stringify(value)} leads outside the worker's root ${root.path}${also}`
        )
      }
      args.push(flag, path)
    }
    const data = job.expected.data
    const expected: ExpectedRun = {
      ...job.expected,
      data:
        data._tag === "mnist"
          ? {
              ...data,
              mnist: data.mnist.kind === "dir" ? { kind: "dir", dir: resolve(root.path, data.mnist.dir) } : data.mnist
            }
          : { ...data, path: resolve(root.path, data.path) }
    }
    return {
      name: job.name,
      model: job.model,
      lambda: job.lambda,
      command: job.command,
      out,
      args: [...args, "--out", out],
      expected
    }
  })

/** A path made relative to `root` when it lies under it (lexically); others as they are. */
const underRoot = (root: string, path: string): string => {
  if (!isAbsolute(path)) return path
  const rel = relative(root, path)
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel
}

/**
 * One run of a sweep (or of the paper's plan): a model at one λ, run as its own process
 * (`command`) with `args`, writing to `out`. On the queue it travels as a job (RunJob): `out` and
 * the paths in `args` relative to the sweep's root, checked again by the worker.
 */
export interface RunRequest {
  readonly name: string
  readonly model: string
  readonly lambda: number
  /** The command that runs it; absent: "train" (MNIST). "train-data" trains on a vector or image file, "patches-train" on a patch file. */
  readonly command?: JobCommand
  /** Absolute, the run's folder on this machine; a job carries it relative to the sweep's root. */
  readonly out: string
  /** The arguments of the run command (sparse-vdl train, train-data or patches train), --out included. */
  readonly args: ReadonlyArray<string>
  readonly expected: ExpectedRun
}

/**
 * A run as the job the submitter puts on the queue: its folder relative to the sweep's root, --out
 * left to the worker, absolute paths under the root made relative to it (a worker's root may be
 * the same shared folder mounted elsewhere). Also the absolute paths left, which lie outside the
 * root: the workers must be given their folders as --input-root. Fails if the run's folder is not
 * inside the root.
 */
export const toJob = (
  run: RunRequest,
  root: string
): Either.Either<{ readonly job: typeof RunJob.Encoded; readonly outside: ReadonlyArray<string> }, string> => {
  const top = resolve(root)
  const out = relative(top, resolve(run.out))
  if (out === "" || out.startsWith("..") || isAbsolute(out))
    return Either.left(`its folder ${run.out} is not inside the sweep's root ${top}`)
  const args: string[] = []
  const outside: string[] = []
  const keep = (value: string) => {
    const made = underRoot(top, value)
    if (isAbsolute(made)) outside.push(made)
    return made
  }
  for (let i = 0; i < run.args.length; i++) {
    const word = run.args[i]
    const eq = word.startsWith("--") ? word.indexOf("=") : -1
    const flag = eq > 0 ? word.slice(0, eq) : word
    if (flag === "--out") {
      if (eq < 0) i += 1
      continue
    }
    if (eq > 0) args.push(`${flag}=${keep(word.slice(eq + 1))}`)
    else args.push(word.startsWith("--") ? word : keep(word))
  }
  const data = run.expected.data
  const expected: ExpectedRun = {
    ...run.expected,
    data:
      data._tag === "mnist"
        ? {
            ...data,
            mnist: data.mnist.kind === "dir" ? { kind: "dir", dir: underRoot(top, data.mnist.dir) } : data.mnist
          }
        : { ...data, path: underRoot(top, data.path) }
  }
  const job: RunJob = {
    name: run.name,
    model: run.model,
    lambda: run.lambda,
    command: run.command ?? "train",
    out,
    args,
    expected
  }
  return Either.map(
    Schema.encodeEither(RunJob)(job).pipe(
      Either.mapLeft((e) => {
        const { field, problem } = describeIssues(e)
        return `it cannot be made a job: ${field}: ${problem}`
      })
    ),
    (encoded) => ({ job: encoded, outside: [...new Set(outside)] })
  )
}
