/** A TypeScript script run as a child process (`node --import tsx`), with its output kept for failure messages. */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  /** What it wrote to stdout and stderr. */
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** Runs `script` (a path from the repository root) with `config` as its one JSON argument. */
export const spawnScript = (name: string, script: string, config: unknown): Child => {
  const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(config)], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (data: Buffer) => (output += data.toString()))
  child.stderr!.on("data", (data: Buffer) => (output += data.toString()))
  return {
    name,
    process: child,
    output: () => output,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code)))
  }
}
