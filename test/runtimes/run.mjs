// The package as users get it, on Node, Bun and Deno. `npm pack` builds dist/
// (prepack) and packs it; the tarball is installed into a temporary project
// with its peers (from npm's cache when it has them, as `npm ci` left it);
// there every entry point of package.json `exports` is imported and
// test/runtimes/smoke.ts (compiled) runs, under Node, Bun and Deno (npm mode,
// node_modules). Deno also runs smoke.ts from source through deno.json, as a
// JSR user does. Each run's output is checked.
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = (name) => `${root}node_modules/.bin/${name}`
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const specifiers = Object.keys(manifest.exports)
  .filter((subpath) => subpath !== "./package.json")
  .map((subpath) => join(manifest.name, subpath).replace(/\/$/, ""))
const versionOf = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version

const temp = mkdtempSync(join(tmpdir(), "effect-ordered-pack-"))
const app = join(temp, "app")
try {
  execFileSync("npm", ["pack", "--silent", "--pack-destination", temp], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  const tarball = readdirSync(temp).find((name) => name.endsWith(".tgz"))
  const packed = execFileSync("tar", ["-tzf", join(temp, tarball)], { encoding: "utf8" }).split("\n")
  for (const entry of specifiers) {
    const target = manifest.exports[`.${entry.slice(manifest.name.length)}`]
    for (const file of [target.import, target.types]) {
      if (!packed.includes(`package/${file.replace(/^\.\//, "")}`)) throw new Error(`${tarball} lacks ${file} (${entry})`)
    }
  }
  console.log(`✓ npm pack: ${tarball}, ${packed.filter(Boolean).length} files, every entry's module and types`)

  execFileSync("mkdir", ["-p", app])
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "packed-app", private: true, type: "module" }))
  // The peers at the versions this checkout uses, optional ones included, so every entry point can load.
  const peers = Object.keys(manifest.peerDependencies ?? {}).map((name) => `${name}@${versionOf(name)}`)
  execFileSync("npm", [
    "install", "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error",
    join(temp, tarball), ...peers
  ], { cwd: app, stdio: ["ignore", "ignore", "inherit"] })

  execFileSync(bin("tsc"), ["-p", "test/runtimes/tsconfig.json"], { cwd: root, stdio: "inherit" })
  copyFileSync(join(root, "test/runtimes/build/smoke.js"), join(app, "smoke.js"))
  writeFileSync(join(app, "entries.mjs"), `// Imports every entry point; prints their export names.
const entries = {}
for (const specifier of ${JSON.stringify(specifiers)}) entries[specifier] = Object.keys(await import(specifier)).sort()
console.log(JSON.stringify(entries))
await import("./smoke.js")
`)
  // A CommonJS project, as `npm init -y` makes one: `require` of every entry, and tsc accepting the
  // imports there (as in the ESM project above), both with Node's own module resolution.
  execFileSync("mkdir", ["-p", join(app, "cjs")])
  writeFileSync(join(app, "cjs", "package.json"), JSON.stringify({ name: "packed-cjs-app", private: true, type: "commonjs" }))
  writeFileSync(join(app, "cjs", "entries.cjs"), `const entries = {}
for (const specifier of ${JSON.stringify(specifiers)}) entries[specifier] = Object.keys(require(specifier)).sort()
console.log(JSON.stringify(entries))
const { Effect } = require("effect")
const { Ordered } = require("effect-ordered")
const program = Ordered.forEach([30, 10, 20], (ms) => Effect.as(Effect.sleep(ms), ms), { concurrency: 3 })
Effect.runPromise(program).then((out) => console.log(JSON.stringify({ ordered: out.join() === "30,10,20" })))
`)
  const typed = `import { Effect } from "effect"
import { Ordered } from "effect-ordered"
export const doubled: Effect.Effect<Array<number>> = Ordered.forEach([1, 2], (n: number) => Effect.succeed(n * 2), { concurrency: 2 })
`
  const nodeNext = { compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: true, types: [] } }
  for (const dir of [app, join(app, "cjs")]) {
    writeFileSync(join(dir, "typed.ts"), typed)
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ ...nodeNext, files: ["typed.ts"] }))
    execFileSync(bin("tsc"), ["-p", join(dir, "tsconfig.json")], { cwd: dir, stdio: "inherit" })
  }
  console.log("✓ tsc accepts the package from an ESM project and from a CommonJS one (module nodenext)")
} catch (error) {
  rmSync(temp, { recursive: true, force: true })
  console.error(`✗ npm pack and install: ${error.message}`)
  process.exit(1)
}

const runs = [
  ["deno (source, deno.json)", root, [bin("deno"), "run", "--quiet", "--allow-read", "--allow-env", "test/runtimes/smoke.ts"]],
  ["node (tarball)", app, [process.execPath, "entries.mjs"]],
  ["bun (tarball)", app, [bin("bun"), "run", "entries.mjs"]],
  ["deno (tarball, node_modules)", app, [bin("deno"), "run", "--quiet", "--allow-read", "--allow-env", "entries.mjs"]],
  ["node (tarball, CommonJS require)", join(app, "cjs"), [process.execPath, "entries.cjs"]]
]
const checkSmoke = (line) => {
  const result = JSON.parse(line)
  // The CommonJS run checks order only; the others run test/runtimes/smoke.ts.
  return result.ordered === true && (result.timeout === undefined ||
    result.timeout === true && JSON.stringify(result.keyed) === JSON.stringify(["a0", "b1", "a2", "c3", "b4", "a5"]))
}
const checkEntries = (line) => {
  const entries = JSON.parse(line)
  return specifiers.every((specifier) => entries[specifier]?.length > 0) &&
    entries[manifest.name].includes("Ordered")
}
let failed = 0
for (const [name, cwd, [cmd, ...args]] of runs) {
  let out = ""
  try {
    out = execFileSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 }).trim()
    const lines = out.split("\n")
    const ok = checkSmoke(lines.at(-1)) && (cwd === root || (lines.length === 2 && checkEntries(lines[0])))
    if (!ok) throw new Error(`unexpected output: ${out}`)
    console.log(`✓ ${name}: ${cwd === root ? "the public import works" : `imports ${specifiers.join(", ")}`}`)
  } catch (error) {
    failed++
    console.error(`✗ ${name}: ${error.message}`)
  }
}
rmSync(temp, { recursive: true, force: true })
console.log(`runtimes: ${runs.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
