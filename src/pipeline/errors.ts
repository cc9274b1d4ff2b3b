import { Data } from "effect"

/** The requested compute backend could not be loaded. */
export class BackendError extends Data.TaggedError("BackendError")<{
  readonly backend: string
  readonly problem: string
}> {
  override get message(): string {
    return `backend ${this.backend} cannot be used: ${this.problem}. Pass --backend with one that loads (wasm and cpu always do), or omit it to pick the fastest automatically.`
  }
}

/** A setting or option has a value that cannot be used. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly option: string
  readonly problem: string
}> {
  override get message(): string {
    return `option ${this.option}: ${this.problem}`
  }
}

/** A non-finite number appeared in training: the run stops rather than continue on garbage. */
export class DivergenceError extends Data.TaggedError("DivergenceError")<{
  readonly epoch: number
  readonly batch: number
  readonly term: string
}> {
  override get message(): string {
    return `training diverged at epoch ${this.epoch + 1}, batch ${this.batch + 1}: ${this.term} is not finite. Lower the learning rates or the FISTA step (--eta), or use --eta lipschitz; the last good checkpoint is kept.`
  }
}

/** A checkpoint cannot be read back into a model. */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `checkpoint ${this.file}: ${this.problem}`
  }
}
