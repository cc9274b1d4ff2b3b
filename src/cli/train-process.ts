/**
 * How sweeps and queue workers start one training run: with the program that is running, so
 * that runs started from the built package are `node <bin> train` (or `train-data`; no
 * TypeScript loader needed) and runs started from the sources are experiments/mnist.ts (or
 * experiments/train-data.ts) under tsx, as before. Also the options each of those commands takes,
 * which a queue worker checks every job's arguments against.
 */
import { fileURLToPath } from "node:url"
import { type JobCommand, type OptionTable, optionTable } from "../pipeline/sweep/job.js"
import { type RunLauncher, tsxScriptCommand } from "../pipeline/sweep/process.js"
import { trainDataOptions } from "./train-data.js"
import { trainOptions } from "./train.js"

const fromSources = import.meta.url.endsWith(".ts")

/** The repository or the installed package: src/cli and dist/cli are both two folders down. */
export const programRoot = fileURLToPath(new URL("../..", import.meta.url))

/** The script of each command when running from the sources. */
const SCRIPTS: Readonly<Record<JobCommand, string>> = { train: "mnist.ts", "train-data": "train-data.ts" }

/** The program for each kind of run, started in `cwd`. */
export const trainProcess = (cwd: string): RunLauncher => (command) =>
  fromSources
    ? tsxScriptCommand(fileURLToPath(new URL(`../../experiments/${SCRIPTS[command]}`, import.meta.url)), cwd)
    : {
        executable: process.execPath,
        // The same guard tsxScriptCommand loads: the run stops when its starter dies.
        prefix: ["--import", new URL("../pipeline/sweep/exit-with-parent.js", import.meta.url).href, fileURLToPath(new URL("./bin.js", import.meta.url)), command],
        cwd
      }

/** The options of each kind of run, from the definitions the commands parse their own command lines with. */
export const runCommandOptions: Readonly<Record<JobCommand, OptionTable>> = {
  train: optionTable(trainOptions),
  "train-data": optionTable(trainDataOptions)
}
