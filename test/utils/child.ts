/**
 * A TypeScript script run as a child process (`node --import tsx`) on the parent's Effect line, with its output kept
 * for failure messages.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  /** What it wrote to stdout and stderr. */
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** The variable that tells a child the line it must run on ({@link checkLine}). */
const lineVariable = "EFFECT_ORDERED_LINE"

/**
 * Runs `script` (a path from the repository root) with `config` as its one JSON argument, on Effect `line`: on 4
 * through test/utils/effect4.ts, which resolves `effect` to the `effect4` alias as the `effect4` vitest project does.
 * A `.ts` script runs through tsx; a `.js` one (compiled by `tsc -p tsconfig.bench.json`) as it is, but for the
 * effect-4 hook, which is TypeScript.
 */
export const spawnScript = (name: string, script: string, config: unknown, line: 3 | 4): Child => {
  const tsx = script.endsWith(".ts") || line === 4 ? ["--import", "tsx"] : []
  const loaders = [...tsx, ...(line === 4 ? ["--import", "./test/utils/effect4.ts"] : [])]
  const child = spawn(process.execPath, [...loaders, script, JSON.stringify(config)], {
    cwd: root,
    env: { ...process.env, [lineVariable]: String(line) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  // TEST_CHILD_LOGS=<dir> keeps every child's whole output in <dir>/<name>.log, for a failure read afterwards.
  const logDir = process.env.TEST_CHILD_LOGS
  const keep = (data: Buffer) => {
    output += data.toString()
    if (logDir !== undefined) appendFileSync(join(logDir, `${name}.log`), data)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  return {
    name,
    process: child,
    output: () => output,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code)))
  }
}

/**
 * In a child script, given the line its `effect` resolved to: exits at start-up unless that is the line the parent
 * asked for, so that a test meant for effect 4 cannot pass on effect 3 unseen.
 */
export const checkLine = (line: 3 | 4): void => {
  if (process.env[lineVariable] === String(line)) return
  process.stderr.write(`expected to run on effect ${process.env[lineVariable]}, runs on effect ${line}\n`)
  process.exit(1)
}
