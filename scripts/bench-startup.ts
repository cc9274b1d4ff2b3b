/**
 * How long the built program takes to answer before it does any work: `sparse-vdl --help`,
 * `sparse-vdl train --help` and a bare `import("sparse-vdl")`, each started N times as a fresh
 * node process. Prints the median wall time (and the median CPU time, user + system, which a
 * loaded machine disturbs less) of each. Build first (`npm run build`).
 *   npx tsx scripts/bench-startup.ts [--runs 15] [--against OTHER_CHECKOUT]
 * With --against, the same measurements of another built checkout (for example the commit
 * before a change) run alternately with this one's, so that both see the same load.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const at = argv.indexOf(name)
  return at >= 0 ? argv[at + 1] : undefined
}
const runs = Number(flag("--runs") ?? 15)
if (!(Number.isInteger(runs) && runs >= 1))
  throw new Error(`--runs: ${flag("--runs")} is not a whole number of runs, 1 or more`)
const here = resolve(import.meta.dirname, "..")
const against = flag("--against")
const checkouts = [
  { name: "this checkout", root: here },
  ...(against === undefined ? [] : [{ name: resolve(against), root: resolve(against) }])
]
for (const { root } of checkouts) {
  if (!existsSync(join(root, "dist", "cli", "bin.js")))
    throw new Error(`${root} has no dist/cli/bin.js; run npm run build there first`)
}

/** The commands measured, each as node's arguments in the checkout's root. */
const cases: ReadonlyArray<{ readonly name: string; readonly args: (root: string) => string[] }> = [
  { name: "sparse-vdl --help", args: (root) => [join(root, "dist", "cli", "bin.js"), "--help"] },
  { name: "sparse-vdl train --help", args: (root) => [join(root, "dist", "cli", "bin.js"), "train", "--help"] },
  // The package's own entry, as a consumer's `import "sparse-vdl"` resolves it.
  {
    name: 'import("sparse-vdl")',
    args: (root) => ["--input-type=module", "-e", `await import(${JSON.stringify(join(root, "dist", "index.js"))})`]
  }
]

/** One start: wall seconds, and CPU seconds of the child (user + system). */
const once = (args: string[], cwd: string): { wall: number; cpu: number } => {
  const started = performance.now()
  const r = spawnSync(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  const wall = (performance.now() - started) / 1000
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} ended with status ${r.status}: ${r.stderr.slice(0, 500)}`)
  return { wall, cpu: childCpuSeconds() }
}

let lastChildCpu = 0
/**
 * CPU seconds of the children that ended since the last call: process.resourceUsage() covers this
 * process only, so they are read from /proc/self/stat (cutime + cstime, Linux; NaN elsewhere).
 */
const childCpuSeconds = (): number => {
  if (!existsSync("/proc/self/stat")) return Number.NaN
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")
  // After "pid (comm) ", field 3 is state; cutime and cstime are fields 16 and 17 (1-based), here 13 and 14.
  const ticks = Number(fields[13]) + Number(fields[14])
  const seconds = ticks / 100
  const spent = seconds - lastChildCpu
  lastChildCpu = seconds
  return spent
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

childCpuSeconds()
const samples = new Map<string, { wall: number[]; cpu: number[] }>()
for (let i = 0; i < runs; i++) {
  for (const c of cases) {
    // Alternate which checkout goes first, so neither always sees a warmer file cache.
    const order = i % 2 === 0 ? checkouts : [...checkouts].reverse()
    for (const checkout of order) {
      const key = `${checkout.name}\t${c.name}`
      const { wall, cpu } = once(c.args(checkout.root), checkout.root)
      const s = samples.get(key) ?? { wall: [], cpu: [] }
      s.wall.push(wall)
      s.cpu.push(cpu)
      samples.set(key, s)
    }
  }
}

const rows = [...samples].map(([key, s]) => {
  const [checkout, name] = key.split("\t")
  return { checkout, name, wall: median(s.wall), cpu: median(s.cpu) }
})
const loads = existsSync("/proc/loadavg")
  ? readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  : "unknown"
console.log(`node ${process.version}, ${runs} runs of each, load average ${loads} (1, 5, 15 min) at the end`)
console.log("checkout | command | median wall s | median CPU s")
console.log("--- | --- | --- | ---")
for (const r of rows) console.log(`${r.checkout} | ${r.name} | ${r.wall.toFixed(3)} | ${r.cpu.toFixed(3)}`)
