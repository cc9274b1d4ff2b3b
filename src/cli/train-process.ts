/**
 * How sweeps and queue workers start one training run: with the program that is running, so
 * that runs started from the built package are `node <bin> train` (or `train-data`; no
 * TypeScript loader needed) and runs started from the sources are experiments/mnist.ts (or
 * experiments/train-data.ts) under tsx, as before. Also the options each of those commands takes,
 * which a queue worker checks every job's arguments against. Both come from the command registry.
 */
import { fileURLToPath } from "node:url"
import type { JobCommand, OptionTable } from "../pipeline/jobs/job.js"
import { type RunCommand, type RunLauncher, tsxScriptCommand } from "../pipeline/jobs/process.js"
import { type JobEntry, jobEntries } from "./commands/registry.js"
import { optionTable } from "./option-usage.js"

const fromSources = import.meta.url.endsWith(".ts")

/** The repository or the installed package: src/cli and dist/cli are both two folders down. */
export const programRoot = fileURLToPath(new URL("../..", import.meta.url))

/**
 * A command of the program, started in `cwd`: experiments/<script> under tsx followed by
 * `scriptWords` from the sources, `sparse-vdl <words>` from the package.
 */
export const programCommand = (
  script: string,
  scriptWords: ReadonlyArray<string>,
  words: ReadonlyArray<string>,
  cwd: string
): RunCommand => {
  if (fromSources) {
    const run = tsxScriptCommand(fileURLToPath(new URL(`../../experiments/${script}`, import.meta.url)), cwd)
    return { ...run, prefix: [...run.prefix, ...scriptWords] }
  }
  return {
    executable: process.execPath,
    // The same guard tsxScriptCommand loads: the run stops when its starter dies.
    prefix: [
      "--import",
      new URL("../pipeline/jobs/exit-with-parent.js", import.meta.url).href,
      fileURLToPath(new URL("./bin.js", import.meta.url)),
      ...words
    ],
    cwd
  }
}

const jobEntry = (command: JobCommand): JobEntry => {
  const entry = jobEntries.find((e) => e.job === command)
  // A run is planned by this program's own sweep or paper, which name only registered commands.
  if (entry === undefined) throw new Error(`no registered command runs jobs named ${JSON.stringify(command)}`)
  return entry
}

/** The program for each kind of run, started in `cwd`. */
export const trainProcess =
  (cwd: string): RunLauncher =>
  (command) => {
    const { script, scriptWords, words } = jobEntry(command)
    return programCommand(script, scriptWords, words, cwd)
  }

/** The options of each kind of run, from the definitions the commands parse their own command lines with. */
export const runCommandOptions = async (): Promise<Readonly<Record<JobCommand, OptionTable>>> =>
  Object.fromEntries(await Promise.all(jobEntries.map(async (e) => [e.job, optionTable(await e.options())] as const)))
