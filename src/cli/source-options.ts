/**
 * The options that pick a registered data source and say where its data is (`train --source`),
 * and the request they make. The choices and their descriptions come from the registry, so a new
 * source shows up in --help with no change here.
 */
import { Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { resolve } from "node:path"
import { ConfigError } from "../pipeline/errors.js"
import { normalizationModes } from "../pipeline/choices.js"
import { dataSources, sourceNames } from "../pipeline/sources/registry.js"
import type { SourceRequest } from "../pipeline/sources/source.js"
import { choiceOption } from "./options.js"

const sourceList = sourceNames.map((n) => `${n}: ${dataSources[n].description}`).join("; ")

export const sourceOptions = {
  source: choiceOption("source", sourceNames).pipe(
    Options.withDescription(`where the data comes from (default mnist). ${sourceList}`),
    Options.optional
  ),
  data: Options.text("data").pipe(
    Options.withDescription(
      `the source's data: ${sourceNames.map((n) => `${n}: ${dataSources[n].reads.help}`).join("; ")}`
    ),
    Options.optional
  ),
  size: Options.integer("size").pipe(
    Options.withDescription(
      "image sources: scale each image to cover N×N and cut out the centre (default: every image must have one size)"
    ),
    Options.optional
  ),
  column: Options.text("column").pipe(
    Options.withDescription("arrow: the vector column (default: the file's only FixedSizeList column)"),
    Options.optional
  ),
  valFraction: Options.float("val-fraction").pipe(
    Options.withDescription(
      "sources split by the seed (images, arrow, labelled-images): share of the rows held out for validation (default 0.1)"
    ),
    Options.optional
  ),
  testFraction: Options.float("test-fraction").pipe(
    Options.withDescription("sources split by the seed: share of the rows held out for test (default 0.1)"),
    Options.optional
  ),
  normalize: choiceOption("normalize", normalizationModes).pipe(
    Options.withDescription(
      "sources split by the seed: global (default: (p − mean)/std over every training value), per-feature (each input value with its own) or none"
    ),
    Options.optional
  )
}

export interface SourceParsed {
  readonly source: Option.Option<string>
  readonly data: Option.Option<string>
  readonly size: Option.Option<number>
  readonly column: Option.Option<string>
  readonly valFraction: Option.Option<number>
  readonly testFraction: Option.Option<number>
  readonly normalize: Option.Option<(typeof normalizationModes)[number]>
}

/** The given source options besides --source and --data, by request field (for checks that they are not given). */
export const givenSourceOptions = (
  o: SourceParsed
): ReadonlyArray<"size" | "column" | "valFraction" | "testFraction" | "normalize"> =>
  (["size", "column", "valFraction", "testFraction", "normalize"] as const).filter((k) =>
    Option.isSome(o[k] as Option.Option<unknown>)
  )

/**
 * The request the options make: only the fields given (so that a source can refuse one it does
 * not read), with `data` made absolute for runs and evaluations started elsewhere.
 */
export const requestFrom = (
  o: SourceParsed,
  seed: number,
  trainSize: Option.Option<number>
): Effect.Effect<SourceRequest, ConfigError> =>
  Effect.gen(function* () {
    if (Option.isSome(o.size) && !(o.size.value >= 1))
      return yield* Effect.fail(
        new ConfigError({ option: "--size", problem: `${o.size.value} is not allowed: give a side of 1 pixel or more` })
      )
    for (const [flag, value] of [
      ["--val-fraction", o.valFraction],
      ["--test-fraction", o.testFraction]
    ] as const) {
      if (Option.isSome(value) && !(value.value > 0 && value.value < 1)) {
        return yield* Effect.fail(
          new ConfigError({ option: flag, problem: `${value.value} is not between 0 and 1 (exclusive); give 0.1, say` })
        )
      }
    }
    const given = <K extends string, A>(key: K, value: Option.Option<A>) =>
      Option.isSome(value) ? ({ [key]: value.value } as { [P in K]: A }) : {}
    return {
      seed,
      ...given(
        "data",
        Option.map(o.data, (d) => resolve(d))
      ),
      ...given("size", o.size),
      ...given("column", o.column),
      ...given("trainSize", trainSize),
      ...given("valFraction", o.valFraction),
      ...given("testFraction", o.testFraction),
      ...given("normalize", o.normalize)
    }
  })
