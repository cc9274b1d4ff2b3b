/**
 * How sweeps and queue workers start one training run: with the program that is running, so
 * that runs started from the built package are `node <bin> train` (no TypeScript loader needed)
 * and runs started from the sources are experiments/mnist.ts under tsx, as before.
 */
import { fileURLToPath } from "node:url"
import { type RunCommand, tsxScriptCommand } from "../pipeline/sweep/process.js"

const fromSources = import.meta.url.endsWith(".ts")

/** The repository or the installed package: src/cli and dist/cli are both two folders down. */
export const programRoot = fileURLToPath(new URL("../..", import.meta.url))

export const trainProcess = (cwd: string): RunCommand =>
  fromSources
    ? tsxScriptCommand(fileURLToPath(new URL("../../experiments/mnist.ts", import.meta.url)), cwd)
    : {
        executable: process.execPath,
        // The same guard tsxScriptCommand loads: the run stops when its starter dies.
        prefix: ["--import", new URL("../pipeline/sweep/exit-with-parent.js", import.meta.url).href, fileURLToPath(new URL("./bin.js", import.meta.url)), "train"],
        cwd
      }
