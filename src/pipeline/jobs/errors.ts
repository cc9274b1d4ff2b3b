import { Data } from "effect"

/** One run of a sweep did not finish: its process failed, or what it left is not a finished run. */
export class SweepRunError extends Data.TaggedError("SweepRunError")<{
  readonly run: string
  readonly problem: string
  /** The run's log, whose end says why; null: the run did not start, and `problem` says why. */
  readonly log: string | null
}> {
  override get message(): string {
    const fix = this.log === null ? "Fix the cause" : `Its output is in ${this.log}; fix the cause`
    return `run ${this.run} failed: ${this.problem}. ${fix} and start the sweep again (finished runs are skipped).`
  }
}

/** Several runs of a sweep failed; each is named with its reason. */
export class SweepFailedError extends Data.TaggedError("SweepFailedError")<{
  readonly failures: ReadonlyArray<SweepRunError>
  readonly total: number
}> {
  override get message(): string {
    return `${this.failures.length} of ${this.total} runs failed (the summary holds the others):\n${this.failures.map((f) => `  - ${f.message}`).join("\n")}`
  }
}

/** The job queue cannot be used: Redis unreachable, or a job in a state the sweep cannot wait on. */
export class QueueError extends Data.TaggedError("QueueError")<{
  readonly url: string
  readonly problem: string
}> {
  override get message(): string {
    return `job queue ${this.url}: ${this.problem}`
  }
}
