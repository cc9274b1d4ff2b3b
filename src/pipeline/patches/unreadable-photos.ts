/**
 * What a patch build does with a photo it cannot read or decode: stop with an error that names
 * it, or leave it out and note it for the build report.
 */
import { Effect } from "effect"
import { ImageReadError } from "../../data/images.js"

/** What a build does with a photo it cannot read or decode (`--bad-images`). */
export { badImagesPolicies, type BadImagesPolicy } from "../choices.js"
import type { BadImagesPolicy } from "../choices.js"

/** A photo left out because it could not be read, and why. */
export interface SkippedImage {
  readonly path: string
  readonly problem: string
}

/**
 * The policy for unreadable photos as one function: with "error" it fails with the photo's
 * ImageReadError, now also naming the option that would skip it; with "skip" it notes the photo
 * (each once, whichever pass meets it) and succeeds, so the caller leaves the photo out.
 */
export interface UnreadablePhotos {
  readonly handle: (e: ImageReadError) => Effect.Effect<void, ImageReadError>
  readonly skipped: ReadonlyMap<string, string>
}

export const unreadablePhotos = (policy: BadImagesPolicy): UnreadablePhotos => {
  const skipped = new Map<string, string>()
  return {
    skipped,
    handle: (e) =>
      policy === "error"
        ? Effect.fail(
            new ImageReadError({
              path: e.path,
              problem: `${e.problem}. To leave out every photo that cannot be read instead (they are counted in the log and the build report), pass --bad-images skip`
            })
          )
        : skipped.has(e.path)
          ? Effect.void
          : Effect.sync(() => skipped.set(e.path, e.problem)).pipe(
              Effect.zipRight(Effect.logWarning(`skipping ${e.path} (--bad-images skip): ${e.problem}`))
            )
  }
}
