/**
 * Loaded into each run process (node --import) by the sweep and the queue worker. A worker that
 * is killed outright (SIGKILL, out of memory) cannot stop its run, which would go on writing to
 * the run folder while another worker repeats the job there; so the run stops itself once the
 * process that started it is gone. Node caches process.ppid, hence /proc, or a signal-0 probe
 * where /proc is missing.
 */
import { readFileSync } from "node:fs"

const PARENT_VARIABLE = "SPARSE_VDL_PARENT_PID"

const parentNow = (): number | null => {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8")
    // "pid (command) state ppid …": the command may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
  } catch {
    return null
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

const parent = Number(process.env[PARENT_VARIABLE])
if (Number.isInteger(parent) && parent > 1) {
  const timer = setInterval(() => {
    const now = parentNow()
    if (now === null ? !alive(parent) : now !== parent) {
      process.stderr.write(
        `the process that started this run (pid ${parent}) is gone; stopping so that the run can be repeated elsewhere\n`
      )
      process.exit(1)
    }
  }, 1000)
  timer.unref()
}
