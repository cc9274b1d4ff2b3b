/**
 * How sweeps and queue workers start one training run: with the program that is running, so
 * that runs started from the built package are `node <bin> train` (or `train-data`; no
 * TypeScript loader needed) and runs started from the sources are experiments/mnist.ts (or
 * experiments/train-data.ts) under tsx, as before. Also the options each of those commands takes,
 * which a queue worker checks every job's arguments against.
 */
import { fileURLToPath } from "node:url"
import { type JobCommand, type OptionTable, optionTable } from "../pipeline/jobs/job.js"
import { type RunCommand, type RunLauncher, tsxScriptCommand } from "../pipeline/jobs/process.js"
import { patchesTrainOptions } from "./patches.js"
import { trainDataOptions } from "./train-data.js"
import { trainOptions } from "./train.js"

const fromSources = import.meta.url.endsWith(".ts")

/** The repository or the installed package: src/cli and dist/cli are both two folders down. */
export const programRoot = fileURLToPath(new URL("../..", import.meta.url))

/** Each command as a script of experiments/ with its leading words (from the sources), and as the program's words (from the package). */
const COMMANDS: Readonly<Record<JobCommand, { readonly script: string; readonly scriptWords: ReadonlyArray<string>; readonly words: ReadonlyArray<string> }>> = {
  train: { script: "mnist.ts", scriptWords: [], words: ["train"] },
  "train-data": { script: "train-data.ts", scriptWords: [], words: ["train-data"] },
  "patches-train": { script: "patches.ts", scriptWords: ["train"], words: ["patches", "train"] }
}

/**
 * A command of the program, started in `cwd`: experiments/<script> under tsx followed by
 * `scriptWords` from the sources, `sparse-vdl <words>` from the package.
 */
export const programCommand = (script: string, scriptWords: ReadonlyArray<string>, words: ReadonlyArray<string>, cwd: string): RunCommand => {
  if (fromSources) {
    const run = tsxScriptCommand(fileURLToPath(new URL(`../../experiments/${script}`, import.meta.url)), cwd)
    return { ...run, prefix: [...run.prefix, ...scriptWords] }
  }
  return {
    executable: process.execPath,
    // The same guard tsxScriptCommand loads: the run stops when its starter dies.
    prefix: ["--import", new URL("../pipeline/jobs/exit-with-parent.js", import.meta.url).href, fileURLToPath(new URL("./bin.js", import.meta.url)), ...words],
    cwd
  }
}

/** The program for each kind of run, started in `cwd`. */
export const trainProcess = (cwd: string): RunLauncher => (command) => {
  const { script, scriptWords, words } = COMMANDS[command]
  return programCommand(script, scriptWords, words, cwd)
}

/** The options of each kind of run, from the definitions the commands parse their own command lines with. */
export const runCommandOptions: Readonly<Record<JobCommand, OptionTable>> = {
  train: optionTable(trainOptions),
  "train-data": optionTable(trainDataOptions),
  "patches-train": optionTable(patchesTrainOptions)
}
