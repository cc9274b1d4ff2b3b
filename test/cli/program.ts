/** The program `sparse-vdl` as a supervisor starts it: node on the built bin, no npx, no TypeScript loader. */
import { type ChildProcess, spawn } from "node:child_process"
import { binPath, repoRoot } from "../package/built.js"

export interface Program {
  readonly child: ChildProcess
  readonly output: () => { readonly stdout: string; readonly stderr: string }
  /** Resolves once stderr matches. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

export const startProgram = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Program => {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env }
  })
  let stdout = ""
  let stderr = ""
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = []
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d))
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d
    for (const w of waiters.filter((w) => w.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  const waitFor = (pattern: RegExp, timeoutMs = 240_000) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(stderr)) return resolve()
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${stderr}`)), timeoutMs)
      waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) })
      void exited.then(() => setTimeout(() => reject(new Error(`exited before ${pattern} appeared:\n${stderr}`)), 50))
    })
  return { child, output: () => ({ stdout, stderr }), waitFor, exited }
}

/** The program run to its end. */
export const runProgram = async (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) => {
  const program = startProgram(args, env)
  const { code } = await program.exited
  return { code, ...program.output() }
}
