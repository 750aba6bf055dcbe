/**
 * The code users read: ```ts blocks of the Markdown docs and `@example`
 * blocks of the public modules' JSDoc, each with the file and line it starts
 * at, so a failing check can point there.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { entries, root } from "./entries.ts"

export interface CodeBlock {
  /** Where it is written, relative to the root: `docs/sequencer.md`, `src/Ordered.ts`. */
  readonly origin: string
  /** The line of `origin` on which the code's first line is. */
  readonly line: number
  /** Characters before the code on each line of `origin` (a Markdown fence's indent, JSDoc's ` * `). */
  readonly indent: number
  readonly code: string
}

/** README.md, docs/*.md and examples/*\/README.md. */
export const markdownFiles = (): Array<string> => [
  join(root, "README.md"),
  ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => join(root, "docs", name)),
  ...readdirSync(join(root, "examples"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, "examples", entry.name, "README.md"))
    .filter(existsSync)
]

export const markdownBlocks = (file: string): Array<CodeBlock> => {
  const lines = readFileSync(file, "utf8").split("\n")
  const blocks: Array<CodeBlock> = []
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\S*)/.exec(lines[i])
    if (fence === null) continue
    const end = lines.findIndex((line, j) => j > i && line.trimStart().startsWith("```"))
    if (end === -1) throw new Error(`${relative(root, file)}:${i + 1}: unclosed code block`)
    if (fence[2] === "ts") {
      const indent = fence[1].length
      const code = lines.slice(i + 1, end).map((line) => line.slice(indent)).join("\n")
      blocks.push({ origin: relative(root, file), line: i + 2, indent, code })
    }
    i = end
  }
  return blocks
}

/** The public modules: every .ts under src/ outside `internal/` folders. */
export const publicModules = (dir = join(root, "src")): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? entry.name === "internal" ? [] : publicModules(join(dir, entry.name))
      : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

export const jsdocExamples = (file: string): Array<CodeBlock> => {
  const text = readFileSync(file, "utf8")
  const blocks: Array<CodeBlock> = []
  for (const match of text.matchAll(/@example\s*\n(\s*\*\s*```ts\n)([\s\S]*?)\n\s*\*\s*```/g)) {
    const line = text.slice(0, match.index! + match[0].indexOf(match[1])).split("\n").length + 1
    const indent = /^\s*\* ?/.exec(match[1])![0].length
    const code = match[2].split("\n").map((codeLine) => codeLine.replace(/^\s*\* ?/, "")).join("\n")
    blocks.push({ origin: relative(root, file), line, indent, code })
  }
  return blocks
}

/**
 * The block as a module that can live in another folder: the package's entry
 * points (`effect-ordered`, `effect-ordered/redis`, …) and relative imports
 * become absolute paths to their sources, line numbers unchanged.
 */
export const standalone = (block: CodeBlock): string => {
  const sources = new Map(entries.map((entry) => [entry.specifier, entry.source]))
  return block.code.replace(/(from |import\()"([^"]+)"/g, (whole, keyword: string, specifier: string) => {
    const source = specifier.startsWith(".") ? join(dirname(join(root, block.origin)), specifier) : sources.get(specifier)
    return source === undefined ? whole : `${keyword}"${source}"`
  })
}

/** A file name for the block, unique per origin and line: `docs_sequencer_md_42.ts`. */
export const fileNameOf = (block: CodeBlock): string => `${block.origin.replace(/[/.]/g, "_")}_${block.line}.ts`
