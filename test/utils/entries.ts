/**
 * The package's public entry points, read from package.json `exports`, so a
 * new entry ("effect-ordered/kafka", …) is picked up by every test that
 * imports them without editing the tests.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Entry {
  /** What a user imports: `effect-ordered`, `effect-ordered/redis`. */
  readonly specifier: string
  /** The built module, relative to the package root: `dist/redis/index.js`. */
  readonly dist: string
  /** Its source, absolute: `<root>/src/redis/index.ts`. */
  readonly source: string
}

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly name: string
  readonly exports: Record<string, string | { readonly import?: string }>
  readonly peerDependencies?: Record<string, string>
}

export const packageName = manifest.name

/** The peer dependencies' names, optional ones included (`effect`, `ioredis`, …). */
export const peers: ReadonlyArray<string> = Object.keys(manifest.peerDependencies ?? {})

export const entries: ReadonlyArray<Entry> = Object.entries(manifest.exports).flatMap(([subpath, target]) => {
  const dist = typeof target === "string" ? target : target.import
  if (dist === undefined || !dist.endsWith(".js")) return [] // ./package.json
  const source = join(root, dist.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"))
  return [{ specifier: join(packageName, subpath).replace(/\/$/, ""), dist: dist.replace(/^\.\//, ""), source }]
})
