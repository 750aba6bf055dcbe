/**
 * The shape of the sources, read with the TypeScript compiler API:
 *
 * - no runtime import cycle among `src/**` (type-only imports do not load a
 *   module and do not count; `export … from` does);
 * - no class over 400 lines, no function, method or arrow over 80 lines;
 * - code under an `internal/` folder imports no value from a public facade
 *   (a package entry, or a module an entry re-exports as a namespace), so a
 *   facade can always import its internals without a cycle;
 * - examples and benches reach `src/` only through the package entries (what
 *   `package.json` `exports` maps), as a user would, save the exceptions
 *   listed below with their reason.
 *
 * Each check reports every violation it finds, with file and line.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

const MAX_CLASS_LINES = 400
const MAX_FUNCTION_LINES = 80

/**
 * Imports of `src/` internals from examples and benches that stay, each with
 * why a public entry does not serve (path of the importer → imported path).
 */
const INTERNAL_IMPORT_EXCEPTIONS: ReadonlyArray<{ readonly from: string; readonly to: string; readonly reason: string }> = [
  {
    from: "bench/capacity.ts",
    to: "src/internal/partitionWorker.ts",
    reason: "measures the partition worker alone, without a broker, to split the consumer's cost; no entry exposes it"
  },
  ...["bench/sequencer.ts", "bench/soak.ts"].flatMap((from) => [
    {
      from,
      to: "src/internal/virtualTime.ts",
      reason: "runs a whole program in virtual time, as Simulation does inside; no entry runs an arbitrary effect so"
    },
    { from, to: "src/internal/random.ts", reason: "the same seeded generator as the simulation's, so runs repeat" }
  ])
]

/** Runtime imports of a facade from internal code that stay, each with why. */
const FACADE_IMPORT_EXCEPTIONS: ReadonlyArray<{ readonly from: string; readonly to: string; readonly reason: string }> = []

const walk = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : walk(rel)
    return /\.(m?ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [rel] : []
  })

const parsed = new Map<string, ts.SourceFile>()
const parse = (file: string): ts.SourceFile => {
  let source = parsed.get(file)
  if (source === undefined) {
    source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true)
    parsed.set(file, source)
  }
  return source
}

interface Import {
  readonly from: string
  /** The repository-relative path it resolves to, or the bare specifier. */
  readonly to: string
  readonly line: number
  /** Whether loading `from` loads `to`: not `import type`, and not only `type` specifiers. */
  readonly runtime: boolean
  /** `export * as Name from` */
  readonly namespaceReExport: boolean
}

const resolve = (from: string, specifier: string): string =>
  specifier.startsWith(".") ? path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)) : specifier

const importsOf = (file: string): ReadonlyArray<Import> => {
  const source = parse(file)
  const result: Array<Import> = []
  const add = (node: ts.Node, specifier: ts.Expression | undefined, runtime: boolean, namespaceReExport = false) => {
    if (specifier === undefined || !ts.isStringLiteral(specifier)) return
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1
    result.push({ from: file, to: resolve(file, specifier.text), line, runtime, namespaceReExport })
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (
        clause.name === undefined && clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((element) => element.isTypeOnly)
      ))
      add(statement, statement.moduleSpecifier, !typeOnly)
    } else if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause
      const typeOnly = statement.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) &&
        clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly))
      add(statement, statement.moduleSpecifier, !typeOnly, clause !== undefined && ts.isNamespaceExport(clause))
    }
  }
  return result
}

const srcFiles = walk("src")
const isInternal = (file: string) => file.split("/").includes("internal")

/** The package entries, from `package.json` `exports`: `./dist/x/index.js` → `src/x/index.ts`. */
const entries: ReadonlyArray<string> = Object.values(
  JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).exports as Record<string, unknown>
).flatMap((target) =>
  typeof target === "object" && target !== null && "import" in target
    ? [String(target.import).replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")]
    : []
)

/** The entries and the modules they re-export as namespaces (`export * as Ordered from "./Ordered.ts"`). */
const facades: ReadonlySet<string> = new Set([
  ...entries,
  ...entries.flatMap((entry) => importsOf(entry).filter((i) => i.namespaceReExport).map((i) => i.to))
])

/** Every cycle of runtime imports, as the strongly connected components (Tarjan) of more than one module or with a self-import. */
const runtimeCycles = (files: ReadonlyArray<string>): ReadonlyArray<string> => {
  const known = new Set(files)
  const edges = new Map(files.map((file) => [
    file,
    importsOf(file).filter((i) => i.runtime && known.has(i.to))
  ]))
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<ReadonlyArray<string>> = []
  const visit = (file: string) => {
    index.set(file, index.size)
    low.set(file, index.get(file)!)
    stack.push(file)
    onStack.add(file)
    for (const { to } of edges.get(file)!) {
      if (!index.has(to)) {
        visit(to)
        low.set(file, Math.min(low.get(file)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!))
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: Array<string> = []
      let top: string
      do {
        top = stack.pop()!
        onStack.delete(top)
        component.push(top)
      } while (top !== file)
      if (component.length > 1 || edges.get(file)!.some((i) => i.to === file)) components.push(component)
    }
  }
  for (const file of files) if (!index.has(file)) visit(file)
  return components.map((component) => {
    const members = new Set(component)
    const links = component.flatMap((file) =>
      edges.get(file)!.filter((i) => members.has(i.to)).map((i) => `${i.from}:${i.line} → ${i.to}`)
    )
    return `cycle among ${[...component].sort().join(", ")}:\n    ${links.join("\n    ")}`
  })
}

const lineSpan = (source: ts.SourceFile, node: ts.Node) =>
  source.getLineAndCharacterOfPosition(node.getEnd()).line -
  source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1

const nameOf = (node: ts.Node): string => {
  const named = node as { readonly name?: ts.Node }
  if (named.name !== undefined) return named.name.getText()
  if (ts.isConstructorDeclaration(node)) return "constructor"
  const parent = node.parent
  if (parent !== undefined && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) {
    return parent.name.getText()
  }
  return "(anonymous)"
}

const oversized = (files: ReadonlyArray<string>): ReadonlyArray<string> =>
  files.flatMap((file) => {
    const source = parse(file)
    const found: Array<string> = []
    const visit = (node: ts.Node) => {
      const limit = ts.isClassLike(node)
        ? MAX_CLASS_LINES
        : ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined
        ? MAX_FUNCTION_LINES
        : undefined
      if (limit !== undefined) {
        const lines = lineSpan(source, node)
        if (lines > limit) {
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1
          found.push(`${file}:${line} ${ts.isClassLike(node) ? "class" : "function"} ${nameOf(node)}: ${lines} lines (limit ${limit})`)
        }
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
    return found
  })

const isListed = (
  exceptions: ReadonlyArray<{ readonly from: string; readonly to: string }>,
  i: Import
) => exceptions.some((e) => e.from === i.from && e.to === i.to)

const report = (violations: ReadonlyArray<string>) => violations.length === 0 ? "" : `\n  ${violations.join("\n  ")}\n`

describe("structure", () => {
  it("finds the package entries and the facades", () => {
    expect(entries).toContain("src/index.ts")
    expect(facades).toContain("src/Ordered.ts")
    for (const facade of facades) expect(srcFiles).toContain(facade)
  })

  it("has no runtime import cycle in src/", () => {
    expect(report(runtimeCycles(srcFiles))).toBe("")
  })

  it(`has no class over ${MAX_CLASS_LINES} lines and no function over ${MAX_FUNCTION_LINES} in src/`, () => {
    expect(report(oversized(srcFiles))).toBe("")
  })

  it("internal modules import no value from a facade", () => {
    const violations = srcFiles.filter(isInternal).flatMap(importsOf)
      .filter((i) => i.runtime && facades.has(i.to) && !isListed(FACADE_IMPORT_EXCEPTIONS, i))
      .map((i) => `${i.from}:${i.line} imports the facade ${i.to}`)
    expect(report(violations)).toBe("")
  })

  it("examples and benches import src/ only through the package entries", () => {
    const allowed = new Set(entries)
    const violations = [...walk("examples"), ...walk("bench")].flatMap(importsOf)
      .filter((i) => i.to.startsWith("src/") && !allowed.has(i.to) && !isListed(INTERNAL_IMPORT_EXCEPTIONS, i))
      .map((i) => `${i.from}:${i.line} imports ${i.to}, not a package entry (${entries.join(", ")})`)
    expect(report(violations)).toBe("")
  })

  it("lists no exception that is no longer needed", () => {
    const stale = [
      ...INTERNAL_IMPORT_EXCEPTIONS.filter((e) => !importsOf(e.from).some((i) => i.to === e.to)),
      ...FACADE_IMPORT_EXCEPTIONS.filter((e) => !importsOf(e.from).some((i) => i.runtime && i.to === e.to))
    ].map((e) => `${e.from} → ${e.to}`)
    expect(report(stale)).toBe("")
  })
})
