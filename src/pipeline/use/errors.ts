import { Data } from "effect"

/** A trained model cannot be loaded for use: no checkpoint where it was pointed, or no way to know its inputs. */
export class LoadModelError extends Data.TaggedError("LoadModelError")<{
  readonly path: string
  /** A sentence that ends with the way out. */
  readonly problem: string
}> {
  override get message(): string {
    return `cannot load a model from ${this.path}: ${this.problem}`
  }
}

/** Rows handed to a loaded model that it cannot take. */
export class ModelInputError extends Data.TaggedError("ModelInputError")<{
  readonly what: string
  /** A sentence that ends with the way out. */
  readonly problem: string
}> {
  override get message(): string {
    return `${this.what}: ${this.problem}`
  }
}

/** A trained model whose decoder has no PyTorch layout (its module refuses the export, saying why). */
export class TorchExportError extends Data.TaggedError("TorchExportError")<{
  readonly file: string
  /** A sentence that ends with the way out. */
  readonly problem: string
}> {
  override get message(): string {
    return `cannot export ${this.file} to PyTorch: ${this.problem}`
  }
}
