/**
 * The data sources by name. Adding one is its own file (a DataSource) and one line here; the
 * command line (`train --source`), runs' records and the evaluations find it through this list.
 */
import * as Effect from "effect/Effect"
import { arrowSource } from "./arrow-source.js"
import { imageFolderSource } from "./image-folder-source.js"
import { labelledFolderSource } from "./labelled-folder-source.js"
import { mnistSource } from "./mnist-source.js"
import { OwnDataError } from "./own-data-error.js"
import { patchSource } from "./patch-source.js"
import type { DataSource, LoadedSource, RequestField, SourceRequest } from "./source.js"

export const dataSources = {
  mnist: mnistSource,
  patches: patchSource,
  images: imageFolderSource,
  arrow: arrowSource,
  "labelled-images": labelledFolderSource
} as const satisfies Readonly<Record<string, DataSource>>

export type SourceName = keyof typeof dataSources

/** Everything loading a registered source can fail with: each source's own errors, and a request it refuses. */
export type SourceLoadError =
  | { readonly [K in SourceName]: Effect.Effect.Error<ReturnType<(typeof dataSources)[K]["load"]>> }[SourceName]
  | OwnDataError

/** The registered sources' names, the default (mnist) first. */
export const sourceNames = Object.keys(dataSources) as [SourceName, ...SourceName[]]

/** A source by name, or an error that lists the names there are. */
export const dataSource = (name: string): Effect.Effect<DataSource<SourceLoadError>, OwnDataError> =>
  Object.hasOwn(dataSources, name)
    ? Effect.succeed(dataSources[name as SourceName])
    : Effect.fail(
        new OwnDataError({
          source: name,
          problem: `there is no data source of this name; choose one of ${sourceNames.join(", ")}`,
          fields: ["source"]
        })
      )

/**
 * The request's fields that the source does not read, refused naming them (so that a --size
 * given to an Arrow file, say, is not silently ignored), and a missing `data` where the source
 * needs one.
 */
export const requestProblem = (source: DataSource<unknown>, request: SourceRequest): OwnDataError | null => {
  if (request.data === undefined && source.reads.required) {
    return new OwnDataError({
      source: source.name,
      problem: `it reads ${source.reads.help}; give it as data`,
      fields: ["data"]
    })
  }
  const unread = (Object.keys(request) as Array<keyof SourceRequest>).filter(
    (k): k is RequestField =>
      k !== "seed" && k !== "data" && request[k] !== undefined && !(source.uses as ReadonlyArray<string>).includes(k)
  )
  if (unread.length > 0) {
    return new OwnDataError({
      source: source.name,
      problem: `it does not take ${unread.join(", ")} (it takes ${["data", ...source.uses].join(", ")}); drop ${unread.length === 1 ? "it" : "them"}`,
      fields: unread
    })
  }
  return null
}

/** A registered source's data for a request, after the request is checked against what the source reads. */
export const loadSource = (name: string, request: SourceRequest) =>
  Effect.gen(function* () {
    const source = yield* dataSource(name)
    const problem = requestProblem(source, request)
    if (problem !== null) return yield* Effect.fail(problem)
    return yield* source.load(request)
  }) satisfies Effect.Effect<LoadedSource, SourceLoadError, import("@effect/platform").FileSystem.FileSystem>
