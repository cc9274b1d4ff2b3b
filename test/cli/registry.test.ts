/**
 * The command registry against what the program shows and does: every registered command is listed
 * by `sparse-vdl --help` and loads under its own name; the commands a queue worker accepts are the
 * registry's queueable ones, with the options their own --help shows; synopses mark the options
 * that may be left out, and no help line is padded; the library itself does not import @effect/cli.
 */
import { Command } from "@effect/cli"
import { Either } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { type CommandEntry, commands, jobEntries } from "../../src/cli/commands/registry.js"
import { loadCommand } from "../../src/cli/entry.js"
import { runCommandOptions } from "../../src/cli/train-process.js"
import { variants } from "../../src/models/variants.js"
import { decodeJob } from "../../src/pipeline/jobs/job.js"
import { ensureBuilt, repoRoot } from "../package/built.js"
import { runProgram } from "./program.js"

const help = async (...words: string[]) => {
  const r = await runProgram([...words, "--help"])
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

/** The synopsis line of a command's help (after USAGE, it starts with `$ `). */
const synopsis = (text: string): string => text.split("\n").find((l) => l.startsWith("$ ")) ?? ""

/** A job payload as a submitter makes it, for `command`. */
const payload = (command: string) => ({
  name: "r",
  model: "vdl",
  lambda: 0.01,
  command,
  out: "r",
  args: [],
  expected: {
    model: "vdl",
    seed: 1,
    epochs: 1,
    settings: variants.vdl.settings.mnist,
    data: { _tag: "file", path: "x.arrow" },
    backend: null
  }
})

describe("the command registry", () => {
  beforeAll(ensureBuilt, 300_000)

  it("lists every command in sparse-vdl --help, each loading under its own name", async () => {
    const top = await help()
    const listed = top.split("\n").flatMap((l) => /^ {2}(\S+) {2,}\S/.exec(l)?.[1] ?? [])
    expect(listed).toEqual(commands.map((c) => c.name))
    for (const entry of commands) {
      const command = await loadCommand(entry, { argv: ["node", "sparse-vdl", entry.name], name: entry.name })
      expect([...Command.getNames(command)], entry.name).toEqual([entry.name])
      expect(top, entry.name).toContain(entry.description)
    }
  })

  it("gives the queue worker exactly the queueable commands, with the options their help shows", async () => {
    const tables = await runCommandOptions()
    const queueable = commands.flatMap((c: CommandEntry) => (c.jobs ?? []).map((j) => j.job))
    expect(Object.keys(tables).sort()).toEqual([...queueable].sort())
    expect(queueable.length).toBeGreaterThan(0)
    const names = Object.keys(tables)
    for (const job of jobEntries) {
      // The words a worker runs start with a registered command.
      expect(
        commands.map((c) => c.name),
        job.job
      ).toContain(job.words[0])
      const shown = synopsis(await help(...job.words))
      for (const flag of tables[job.job].keys()) expect(shown, `${job.job} ${flag}`).toMatch(new RegExp(`${flag}\\b`))
      expect(Either.isRight(decodeJob(payload(job.job), "j", names)), job.job).toBe(true)
    }
    // A registered command that is not queueable is refused like any other word.
    const refused = decodeJob(payload("report"), "j", names)
    expect(Either.isLeft(refused)).toBe(true)
    if (Either.isLeft(refused)) expect(refused.left.message).toContain("command: must be one of")
  }, 120_000)

  it("marks optional options in synopses, and pads no help line", async () => {
    const report = synopsis(await help("report"))
    expect(report).toContain("[--out text]")
    expect(report).toContain("[--results text...]")
    const worker = synopsis(await help("worker"))
    expect(worker).toContain("[--input-root directory...]")
    // Required ones stay without brackets.
    expect(worker).toMatch(/ --root directory /)
    expect(worker).toMatch(/ --queue text /)
    const encode = synopsis(await help("encode"))
    expect(encode).toContain("[--images text...]")
    expect(encode).toMatch(/ --out text /)
    const build = await help("patches")
    expect(build).toContain("[--test-images text...]")
    for (const text of [await help(), build, await help("paper")]) {
      for (const line of text.split("\n")) {
        expect(line, line.slice(0, 80)).not.toMatch(/\s$/)
        // Columns may be aligned (command names are short); a synopsis padded to the longest is not.
        expect(line, line.slice(0, 80)).not.toMatch(/\S {16,}\S/)
      }
    }
  }, 120_000)
})

describe("the library under the command line", () => {
  it("imports no @effect/cli: src/models, src/data and src/pipeline are given commands as plain data", () => {
    const sources = ["models", "data", "pipeline"].flatMap((layer) =>
      (readdirSync(join(repoRoot, "src", layer), { recursive: true }) as string[])
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join("src", layer, f))
    )
    expect(sources.length).toBeGreaterThan(50)
    const importing = sources.filter((f) => /from\s+["']@effect\/cli/.test(readFileSync(join(repoRoot, f), "utf8")))
    expect(importing).toEqual([])
  })
})
