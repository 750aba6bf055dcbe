import { beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import ts from "typescript"
import type { CodeBlock } from "../utils/code-blocks.ts"
import { fileNameOf, jsdocExamples, markdownBlocks, markdownFiles, publicModules, standalone } from "../utils/code-blocks.ts"
import { root } from "../utils/entries.ts"
import { line } from "../utils/line.ts"

/**
 * Every ```ts block of README.md, docs/*.md and examples/*\/README.md, and
 * every JSDoc `@example` of the public modules, typechecks as a user would
 * paste it: each block becomes a module under build/docs-blocks/ (outside the
 * project's tsconfig), its imports of the package's entry points (from
 * package.json `exports`) pointing at their sources, and all of them are
 * checked as one TypeScript program. A failure names the file and line.
 *
 * The program is built against the project's Effect line: on effect 4, `effect` and `@effect/vitest` resolve to
 * the `effect4` and `@effect/vitest4` aliases (tsconfig.effect4.json's paths). Blocks are line-neutral except
 * those importing a package that exists for effect 3 only ({@link EFFECT3_ONLY}: the edge example is specified
 * on `@effect/platform`), which are checked on effect 3 alone; README's blocks are never among them.
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

/**
 * Blocks checked on effect 3 only: those importing a package built on effect 3 alone, and effect 3's tests (its
 * `TestClock` comes from `"effect"`; docs/ordered.md's testing section says what effect 4 changes).
 */
const EFFECT3_ONLY =
  /from "@effect\/(platform|platform-node|platform-bun|opentelemetry)"|import \{[^}]*\bTestClock\b[^}]*\} from "effect"/

const allBlocks: ReadonlyArray<CodeBlock> = [
  ...markdownFiles().flatMap(markdownBlocks),
  ...publicModules().flatMap(jsdocExamples)
]
const blocks = line === 4 ? allBlocks.filter((block) => !EFFECT3_ONLY.test(block.code)) : allBlocks
const fileOf = (block: CodeBlock) => join(out, fileNameOf(block))

let program: ts.Program

beforeAll(() => {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  for (const block of blocks) {
    // `export {}`: a block without imports is still a module (top-level await, no shared globals).
    writeFileSync(fileOf(block), `${standalone(block)}\nexport {}\n`)
  }
  const globals = join(out, "runtime-globals.d.ts")
  writeFileSync(globals, runtimeGlobals)
  const config = ts.getParsedCommandLineOfConfigFile(join(root, line === 4 ? "tsconfig.effect4.json" : "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })!
  program = ts.createProgram({
    rootNames: [...blocks.map(fileOf), globals],
    options: {
      ...config.options,
      // A snippet may name a value to show it without using it.
      noUnusedLocals: false,
      noUnusedParameters: false,
      // Top-level await, as in a user's ESM module.
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      // the declarations were checked by `npm run typecheck`; here only the blocks are
      skipLibCheck: true,
      paths: {
        ...config.options.paths,
        ...(line === 4 ? { "@effect/vitest": [join(root, "node_modules/@effect/vitest4/dist/index.d.ts")] } : {})
      }
    }
  })
}, 120_000)

const describeDiagnostic = (block: CodeBlock, diagnostic: ts.Diagnostic): string => {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
  if (diagnostic.file === undefined || diagnostic.start === undefined) return `${block.origin}: ${message}`
  const { character, line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
  return `${block.origin}:${block.line + line}:${block.indent + character + 1} TS${diagnostic.code}: ${message}`
}

describe("code blocks of the docs and the JSDoc", () => {
  it("finds the blocks of the README, docs/, examples/ and src/", () => {
    const count = (prefix: string) => blocks.filter((block) => block.origin.startsWith(prefix)).length
    expect(count("README.md")).toBeGreaterThanOrEqual(2)
    expect(count("docs/")).toBeGreaterThanOrEqual(5)
    expect(count("src/")).toBeGreaterThanOrEqual(20)
  })

  it("the effect-3-only blocks are the edge example's Node server and the effect-3 test, none of README's", () => {
    expect([...new Set(allBlocks.filter((block) => EFFECT3_ONLY.test(block.code)).map((block) => block.origin))])
      .toEqual(["docs/ordered.md", "examples/edge/README.md"])
  })

  for (const block of blocks) {
    it(`${block.origin}:${block.line} typechecks`, () => {
      const source = program.getSourceFile(fileOf(block))!
      const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      expect(diagnostics.map((diagnostic) => describeDiagnostic(block, diagnostic)).join("\n")).toBe("")
    })
  }
})
