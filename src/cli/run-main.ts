import { HelpDoc, ValidationError } from "@effect/cli"
// The modules themselves, not the package's index, which loads its HTTP server and client too.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { plainLogger } from "../pipeline/logging.js"
import { type Progress, ProgressLive } from "../pipeline/train/progress.js"
import { commandLineMessage } from "./errors.js"

const withoutAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

/**
 * @effect/cli lists a command's subcommands as `- SYNOPSIS<spaces>DESCRIPTION`, every synopsis
 * padded to the longest (a training command's runs to some 700 characters). Here each
 * description goes on the line below its synopsis instead, and no line is padded.
 */
export const unpaddedCommandList = (help: string): string =>
  help.replace(
    /^([ \t]*)- (.*?\S)? {2,}(\S.*)$/gm,
    (_, indent: string, synopsis: string | undefined, description: string) =>
      `${indent}- ${synopsis ?? ""}\n${indent}  ${description}`
  )

/** The shell's convention for a process ended by a signal: 128 + its number. */
const signalExitCode = { SIGINT: 130, SIGTERM: 143 } as const

/**
 * Effect's Node runtime interrupts the main fiber on the first SIGINT or SIGTERM and then
 * removes its handlers, so a second signal gets Node's default: the process ends at once (the
 * files are written atomically, so that leaves no torn file). This only notes which signal it
 * was and tells the person at the terminal what is happening; it removes itself the same way.
 */
const watchSignals = (): { readonly received: () => keyof typeof signalExitCode | null } => {
  let received: keyof typeof signalExitCode | null = null
  const on = (signal: keyof typeof signalExitCode) => () => {
    received = signal
    process.removeListener("SIGINT", onInt)
    process.removeListener("SIGTERM", onTerm)
    // Said only once the runtime's own handlers are gone too: from then on the next signal ends
    // the process, which is what the message promises.
    process.nextTick(() =>
      process.stderr.write(`${signal}: stopping after the current batch (send it again to quit at once)\n`)
    )
  }
  const onInt = on("SIGINT")
  const onTerm = on("SIGTERM")
  process.on("SIGINT", onInt)
  process.on("SIGTERM", onTerm)
  return { received: () => received }
}

/**
 * @effect/cli has printed its own reason for a bad command line ("'1.5' is not a integer"),
 * which does not say which option it was; the option is the one given that value.
 */
export const commandLineError = (
  e: ValidationError.ValidationError,
  argv: ReadonlyArray<string> = process.argv.slice(2),
  choices: ReadonlyMap<string, ReadonlyArray<string>> = new Map()
): string => {
  const text =
    "error" in e
      ? withoutAnsi(HelpDoc.toAnsiText(e.error))
          .trim()
          .replace(/ is not a integer$/, " is not an integer")
      : ""
  const value = /^'(.*)' is not an? /.exec(text)?.[1]
  let option: string | undefined
  // A choice refused says only "Expected one of the following cases: …": the option is the one
  // that takes those choices and was given something else.
  const refusedChoice = /^Expected one of the following cases: (.*)$/.exec(text)?.[1]
  if (refusedChoice !== undefined) {
    for (let i = 0; i < argv.length; i++) {
      const [flag, inline] = argv[i].split(/=(.*)/s)
      const allowed = choices.get(flag)
      const given = inline ?? argv[i + 1]
      if (
        allowed !== undefined &&
        allowed.join(", ") === refusedChoice &&
        given !== undefined &&
        !allowed.includes(given)
      ) {
        return `error: option ${flag}: ${JSON.stringify(given)} is not allowed; choose one of ${refusedChoice}. Run with --help for every option and the values it takes.`
      }
    }
  }
  if (value !== undefined) {
    const at = argv.findIndex((a, i) => i > 0 && a === value && argv[i - 1].startsWith("-"))
    option = at > 0 ? argv[at - 1] : argv.find((a) => a.startsWith("--") && a.endsWith(`=${value}`))?.split("=")[0]
  }
  return `error: ${option === undefined ? "the command line" : `option ${option}`} is not valid (${text || e._tag}). Run with --help for every option and the values it takes.`
}

/**
 * The entry point of every command: Node's platform services, the plain logger and progress
 * bars; a failure is printed as its one-line reason (a typed error's message names the thing and
 * the fix), an unexpected defect with its stack, and both exit non-zero. A run stopped by a
 * signal exits with 128 + the signal's number, after whatever its interruption handlers save.
 */
export const runMain = <E, A>(
  program: Effect.Effect<A, E, NodeContext.NodeContext | Progress>,
  cli: {
    readonly choices?: ReadonlyMap<string, ReadonlyArray<string>>
    /** The arguments as the command parsed them, for naming the option of a refused value. */
    readonly args?: ReadonlyArray<string>
  } = {}
) => {
  const signals = watchSignals()
  // @effect/cli prints its own bare reason for a refused command line through Console.error
  // ("'abc' is not a integer") before failing; the handler below says it once, naming the option.
  // Nothing else here writes through Console.error. Its help goes through Console.log with
  // terminal colours, which a pipe or a file would keep as escape codes.
  const plainOutput = !process.stdout.isTTY
  const withCliConsole = <R>(effect: Effect.Effect<A, E, R>) =>
    Console.consoleWith((console) =>
      Console.withConsole(effect, {
        ...console,
        error: () => Effect.void,
        log: (...args) =>
          console.log(
            ...args.map((a) => (typeof a === "string" ? unpaddedCommandList(plainOutput ? withoutAnsi(a) : a) : a))
          )
      })
    )
  return withCliConsole(program).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        const text =
          Option.isSome(failure) && ValidationError.isValidationError(failure.value)
            ? commandLineError(failure.value, cli.args ?? process.argv.slice(2), cli.choices)
            : Option.isSome(failure) && commandLineMessage(failure.value) !== undefined
              ? `error: ${commandLineMessage(failure.value)}`
              : Option.isSome(failure)
                ? `error: ${failure.value instanceof Error || (typeof failure.value === "object" && failure.value !== null && "message" in failure.value) ? (failure.value as { message: string }).message : String(failure.value)}`
                : `unexpected error:\n${Cause.pretty(cause)}`
        process.stderr.write(`${text}\n`)
      })
    ),
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressLive, plainLogger)),
    (effect) =>
      NodeRuntime.runMain(effect, {
        disableErrorReporting: true,
        disablePrettyLogger: true,
        teardown: (exit, onExit) => {
          const signal = signals.received()
          onExit(
            Exit.isSuccess(exit)
              ? 0
              : Cause.isInterruptedOnly(exit.cause)
                ? signal === null
                  ? 130
                  : signalExitCode[signal]
                : 1
          )
        }
      })
  )
}
