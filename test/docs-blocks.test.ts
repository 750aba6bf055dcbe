import { beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import ts from "typescript"
import { entries, root } from "./utils/entries.ts"

/**
 * Every ```ts block of README.md, docs/*.md and examples/*\/README.md
 * typechecks, as a user would paste it: each block becomes a module under
 * build/docs-blocks/ (outside the project's tsconfig) and all of them are
 * checked as one TypeScript program,
 * with the package's entry points (from package.json `exports`) mapped to
 * their sources. Relative imports resolve from the Markdown file's folder. A
 * failure names the Markdown file and line.
 */
const out = join(root, "build", "docs-blocks")

/** The parts of the Deno and Bun globals that the edge example's deploy snippets use. */
const runtimeGlobals = `declare const Deno: {
  readonly env: { toObject(): Record<string, string> }
  serve(handler: (request: Request) => Promise<Response>): unknown
}
declare const Bun: {
  serve(options: { port: number; idleTimeout?: number; fetch: (request: Request) => Promise<Response> }): unknown
}
`

const markdownFiles = (): Array<string> => [
  join(root, "README.md"),
  ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => join(root, "docs", name)),
  ...readdirSync(join(root, "examples"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, "examples", entry.name, "README.md"))
    .filter((file) => {
      try {
        return readFileSync(file).length > 0
      } catch {
        return false
      }
    })
]

interface Block {
  /** `docs/sequencer.md`. */
  readonly markdown: string
  /** The line of the opening fence, 1-based: the block's code starts on the next line. */
  readonly fenceLine: number
  readonly file: string
}

const blocksOf = (markdown: string): Array<{ fenceLine: number; code: string }> => {
  const lines = readFileSync(markdown, "utf8").split("\n")
  const blocks: Array<{ fenceLine: number; code: string }> = []
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\S*)/.exec(lines[i])
    if (fence === null) continue
    const end = lines.findIndex((line, j) => j > i && line.trimStart().startsWith("```"))
    if (end === -1) throw new Error(`${relative(root, markdown)}:${i + 1}: unclosed code block`)
    if (fence[2] === "ts") {
      const indent = fence[1].length
      blocks.push({ fenceLine: i + 1, code: lines.slice(i + 1, end).map((line) => line.slice(indent)).join("\n") })
    }
    i = end
  }
  return blocks
}

/** Relative imports (`./app.ts`) point where they do from the Markdown file. */
const resolveRelative = (code: string, markdown: string): string =>
  code.replace(/(from |import\()"(\.\.?\/[^"]+)"/g, (_, keyword: string, path: string) =>
    `${keyword}"${join(dirname(markdown), path)}"`)

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const blocks: ReadonlyArray<Block> = markdownFiles().flatMap((markdown) =>
  blocksOf(markdown).map(({ code, fenceLine }) => {
    const name = relative(root, markdown).replace(/[/.]/g, "_")
    const file = join(out, `${name}_${fenceLine}.ts`)
    // `export {}`: a block without imports is still a module (top-level await, no shared globals).
    writeFileSync(file, `${resolveRelative(code, markdown)}\nexport {}\n`)
    return { markdown: relative(root, markdown), fenceLine, file }
  })
)

const globals = join(out, "runtime-globals.d.ts")
writeFileSync(globals, runtimeGlobals)

let program: ts.Program

beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })!
  program = ts.createProgram({
    rootNames: [...blocks.map((block) => block.file), globals],
    options: {
      ...config.options,
      // A snippet may name a value to show it without using it.
      noUnusedLocals: false,
      noUnusedParameters: false,
      // Top-level await, as in a user's ESM module.
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      paths: Object.fromEntries(entries.map((entry) => [entry.specifier, [entry.source]]))
    }
  })
}, 120_000)

const describeDiagnostic = (block: Block, diagnostic: ts.Diagnostic): string => {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
  if (diagnostic.file === undefined || diagnostic.start === undefined) return `${block.markdown}: ${message}`
  const { character, line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
  return `${block.markdown}:${block.fenceLine + line + 1}:${character + 1} TS${diagnostic.code}: ${message}`
}

describe("docs code blocks", () => {
  it("finds the blocks of the README, docs/ and examples/", () => {
    expect(blocks.filter((block) => block.markdown === "README.md").length).toBeGreaterThanOrEqual(2)
    expect(blocks.filter((block) => block.markdown.startsWith("docs/")).length).toBeGreaterThanOrEqual(5)
  })

  for (const block of blocks) {
    it(`${block.markdown}:${block.fenceLine} typechecks`, () => {
      const source = program.getSourceFile(block.file)!
      const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      expect(diagnostics.map((diagnostic) => describeDiagnostic(block, diagnostic)).join("\n")).toBe("")
    })
  }
})
