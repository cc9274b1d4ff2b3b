import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Layer, Option } from "effect"
import { plainLogger } from "./logging.js"
import { ProgressLive } from "./progress.js"

/**
 * The entry point of every command: Node's platform services, the plain logger and progress
 * bars; a failure is printed as its one-line reason (a typed error's message names the thing and
 * the fix), an unexpected defect with its stack, and both exit non-zero.
 */
export const runMain = <E, A>(program: Effect.Effect<A, E, NodeContext.NodeContext | import("./progress.js").Progress>) =>
  program.pipe(
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        const text = Option.isSome(failure)
          ? `error: ${failure.value instanceof Error || (typeof failure.value === "object" && failure.value !== null && "message" in failure.value) ? (failure.value as { message: string }).message : String(failure.value)}`
          : `unexpected error:\n${Cause.pretty(cause)}`
        process.stderr.write(`${text}\n`)
      })
    ),
    Effect.provide(Layer.mergeAll(NodeContext.layer, ProgressLive, plainLogger)),
    (effect) => NodeRuntime.runMain(effect, { disableErrorReporting: true, disablePrettyLogger: true })
  )
