import { beforeAll, describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import { execFile } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { CodeBlock } from "../utils/code-blocks.ts"
import { fileNameOf, jsdocExamples, markdownBlocks, markdownFiles, publicModules, standalone } from "../utils/code-blocks.ts"
import { peers, root } from "../utils/entries.ts"

/**
 * Examples print what their comments say. Each JSDoc `@example` of the public
 * modules, and each ```ts block of the docs that states an output, runs to
 * completion as its own Node process (so whatever it leaves running counts),
 * and its standard output is compared line by line with its output comments.
 * The examples are bundled first (esbuild, shared chunks): a process then
 * starts in a fraction of what loading the TypeScript sources through tsx costs.
 *
 * The convention (docs/api-reference.md, "Examples"): the `// ` comment lines
 * directly below a line that prints — a line calling `console.log`, or one that
 * runs an effect with `Effect.runPromise`, `Effect.runSync` or
 * `Effect.runFork` — are what that line prints, exactly as Node prints it. A
 * blank or code line ends them. Prose goes in comments anywhere else. A
 * printing line carries no comment of its own (its output goes below it).
 * Examples of a transport (Redis, …) build their client without connecting
 * and never run their program, so they run without a server (test/redis-*.test.ts
 * and the like run those APIs against real ones).
 */
const out = join(root, "build", "examples")

const printing = /console\.log\b|Effect\.run(Promise|Sync|Fork)\(/

interface Expectation {
  readonly output: ReadonlyArray<string>
  /** Lines that break the convention: a printing line with a trailing comment. */
  readonly misplaced: ReadonlyArray<string>
}

const expectedOutput = (block: CodeBlock): Expectation => {
  const lines = block.code.split("\n")
  const output: Array<string> = []
  const misplaced: Array<string> = []
  lines.forEach((line, i) => {
    if (!printing.test(line)) return
    if (/\)\s*\/\/.*$/.test(line)) {
      misplaced.push(`${block.origin}:${block.line + i}: put the printed output on the comment lines below`)
    }
    for (let j = i + 1; j < lines.length && /^\s*\/\/( |$)/.test(lines[j]); j++) {
      output.push(lines[j].replace(/^\s*\/\/ ?/, ""))
    }
  })
  return { output, misplaced }
}

const examples: ReadonlyArray<CodeBlock> = [
  ...publicModules().flatMap(jsdocExamples),
  ...markdownFiles().flatMap(markdownBlocks).filter((block) => expectedOutput(block).output.length > 0)
]

interface Run {
  readonly stdout: string
  readonly stderr: string
  readonly error: Error | null
}

const run = (file: string): Promise<Run> =>
  new Promise((resolve) =>
    execFile(process.execPath, [file], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr })
    )
  )

const runs = new Map<CodeBlock, Run>()

beforeAll(async () => {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(join(out, "src"), { recursive: true })
  const sources = examples.map((block) => {
    const file = join(out, "src", fileNameOf(block))
    writeFileSync(file, `${standalone(block)}\nexport {}\n`)
    return file
  })
  const bundled = join(out, "js")
  await build({
    entryPoints: sources,
    outdir: bundled,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    // The clients behind the other entry points (ioredis, …) are CommonJS that requires Node's
    // built-ins: loaded from node_modules as they are.
    external: peers.filter((name) => name !== "effect"),
    logLevel: "error"
  })
  const queue = examples.map((block) => ({ block, file: join(bundled, fileNameOf(block).replace(/\.ts$/, ".js")) }))
  // A few processes at a time: the machine's cores, and waiting on timers.
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      runs.set(next.block, await run(next.file))
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
}, 300_000)

describe("examples", () => {
  it("there are examples to run, from the JSDoc and the docs", () => {
    expect(examples.filter((block) => block.origin.startsWith("src/")).length).toBeGreaterThan(15)
    expect(examples.filter((block) => block.origin === "README.md").length).toBeGreaterThanOrEqual(2)
  })

  for (const block of examples) {
    it(`${block.origin}:${block.line} prints what its comments say`, () => {
      const { error, stderr, stdout } = runs.get(block)!
      const { misplaced, output } = expectedOutput(block)
      expect(misplaced).toEqual([])
      expect(error === null ? "" : `${block.origin}:${block.line} failed: ${error.message}\n${stderr}`).toBe("")
      const printed = stdout.length === 0 ? [] : stdout.replace(/\n$/, "").split("\n")
      expect(printed, `${block.origin}:${block.line}: printed output vs its comments`).toEqual(output)
    })
  }
})
