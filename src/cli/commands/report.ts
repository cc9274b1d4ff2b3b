/**
 * One self-contained HTML page comparing trained runs: settings, metrics, training curves,
 * decoder pictures and reconstructions, and the denoising and classification results found in
 * the run folders (their denoise/ and classify/ outputs) or in the folders given with --results.
 *   npx tsx experiments/report.ts RUN... --out report.html [--results DIR...]
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { dirname, resolve } from "node:path"
import { ensureDir, writeFileAtomic } from "../../data/atomic-write.js"
import { runsArgs } from "../evaluation-options.js"
import { zeroOrMore } from "../options.js"

const options = {
  out: Options.text("out").pipe(
    Options.withDescription("the HTML file to write (default report.html)"),
    Options.withDefault("report.html")
  ),
  results: Options.text("results").pipe(
    Options.withDescription(
      "a folder written by experiments/denoise.ts or classify.ts (or one holding denoise/ and classify/); repeat for several"
    ),
    zeroOrMore
  ),
  title: Options.text("title").pipe(Options.withDescription("page title (default names the runs)"), Options.optional)
}

export const reportCommand = Command.make("report", { runs: runsArgs, ...options }, (o) =>
  Effect.gen(function* () {
    // The run folders' reader and the page's charts load when the command runs, not for --help.
    const [{ findResults, renderReport }, { readRunFolders }] = yield* Effect.promise(() =>
      Promise.all([import("../../pipeline/evaluation/report.js"), import("../../pipeline/evaluation/run-folder.js")])
    )
    const runs = yield* readRunFolders(o.runs)
    const results = yield* findResults(runs, o.results)
    const html = yield* renderReport({ runs, results, ...(o.title._tag === "Some" ? { title: o.title.value } : {}) })
    const out = resolve(o.out)
    yield* ensureDir(dirname(out))
    yield* writeFileAtomic(out, html)
    yield* Effect.logInfo(
      `wrote ${out} (${(html.length / 1024).toFixed(0)} KiB): ${runs.length} run${runs.length > 1 ? "s" : ""}, ` +
        `${results.denoise.length} denoising rows, ${results.classify.length} classification rows`
    )
  })
)
