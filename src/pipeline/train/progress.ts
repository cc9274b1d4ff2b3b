import cliProgress from "cli-progress"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/** One unit of long work being reported: batches of an epoch, images of a data set. */
export interface ProgressBar {
  /** done: units finished so far; info: short figures shown beside the bar. */
  readonly update: (done: number, info: string) => Effect.Effect<void>
}

export interface ProgressService {
  readonly bar: (label: string, total: number) => Effect.Effect<ProgressBar, never, Scope.Scope>
}

export class Progress extends Context.Tag("sparse-vdl/Progress")<Progress, ProgressService>() {}

/** A live bar on a terminal; on a pipe or in CI, a log line every few seconds instead. */
export const ProgressLive = Layer.succeed(Progress, {
  bar: (label, total) =>
    process.stderr.isTTY
      ? Effect.acquireRelease(
          Effect.sync(() => {
            const bar = new cliProgress.SingleBar(
              {
                format: `${label} [{bar}] {value}/{total} {info}`,
                stream: process.stderr,
                hideCursor: true,
                clearOnComplete: false
              },
              cliProgress.Presets.shades_classic
            )
            bar.start(total, 0, { info: "" })
            return bar
          }),
          (bar) => Effect.sync(() => bar.stop())
        ).pipe(
          Effect.map((bar): ProgressBar => ({ update: (done, info) => Effect.sync(() => bar.update(done, { info })) }))
        )
      : Effect.sync((): ProgressBar => {
          let last = 0
          return {
            update: (done, info) =>
              Effect.suspend(() => {
                const now = Date.now()
                if (done < total && now - last < 10_000) return Effect.void
                last = now
                return Effect.logInfo(`${label} ${done}/${total} ${info}`)
              })
          }
        })
})

/** For tests and library use where nothing should be printed. */
export const ProgressSilent = Layer.succeed(Progress, {
  bar: () => Effect.succeed({ update: () => Effect.void })
})
