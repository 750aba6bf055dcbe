// The package as users get it, on both Effect lines, under Node (ESM and
// CommonJS), Bun and Deno. `npm pack` builds dist/ (prepack) and packs it;
// the tarball is installed into fresh projects the way each runtime's users
// install it (docs/install.md):
//
//   effect 3  npm:  `npm i <tarball> effect@3` (the peers at this checkout's versions), an ESM project and a
//                   CommonJS one (`require`); Bun and Deno (npm mode) run the same project;
//             Deno: `deno add jsr:… npm:effect@3`, deno.json's `links` standing in for JSR; and smoke.ts
//                   from source through this repository's deno.json.
//   effect 4  npm:  `npm i <tarball> effect@^4`, ESM and CommonJS;
//             Bun:  `bun add <tarball> effect` (npm's `latest`, effect 4);
//             Deno: `deno add jsr:… npm:effect` as above, and `deno add npm:effect` with the unpacked
//                   package's `src/` in deno.json's imports (a folder install); Deno's npm cache, no node_modules.
//
// In each project every entry point of package.json `exports` is imported, test/runtimes/smoke.ts runs, and
// so does each program of README.md's "A first minute", whose output must be what the README shows. Node
// runs them compiled by the project's own tsc (module nodenext), so tsc accepts the package on each line,
// ESM and CommonJS. Each project must hold ONE copy of effect, of its line, and the library must resolve to
// it. npm's, Bun's and Deno's caches make the installs after the first one fast.
import { execFile, execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

const started = Date.now()
const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = (name) => `${root}node_modules/.bin/${name}`
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== "./package.json")
const specifiers = subpaths.map((subpath) => join(manifest.name, subpath).replace(/\/$/, ""))
const versionOf = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version
const optionalPeers = Object.keys(manifest.peerDependenciesMeta ?? {}).map((name) => `${name}@${versionOf(name)}`)
const quiet = { stdio: ["ignore", "ignore", "pipe"] }

/**
 * The programs of README.md's "A first minute", each with the output the README shows: the `// …` lines
 * that end its block.
 */
const readmePrograms = () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## A first minute"))
  const blocks = [...section.slice(0, section.indexOf("\n## ")).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
  if (blocks.length === 0) throw new Error("README.md: no ```ts block under \"A first minute\"")
  return blocks.map((source, i) => {
    const lines = source.trimEnd().split("\n")
    const expected = []
    while (lines.length > 0 && lines.at(-1).startsWith("// ")) expected.unshift(lines.pop().slice(3))
    if (expected.length === 0) throw new Error(`README.md: program ${i + 1} of "A first minute" shows no output`)
    return { name: `readme${i + 1}`, source, expected }
  })
}
/** Console output as the README shows it: Node's quotes, one space between tokens (Bun and Deno print `"`). */
const normalize = (text) => text.replaceAll("\"", "'").replace(/\s+/g, " ").trim()

/** Imports (`load`) every entry and prints their export names, then runs smoke.ts (`smoke`). */
const entriesScript = (load, smoke) => `const entries = {}
for (const specifier of ${JSON.stringify(specifiers)}) entries[specifier] = Object.keys(${load}).sort()
console.log(JSON.stringify(entries))
${smoke}
`

/**
 * Writes the programs (README's, smoke.ts, one importing every entry) into `dir`; Node's runs use tsc's
 * output (`smoke`: which smoke file the ESM entries script imports).
 */
const writePrograms = (dir, programs, { commonjs = false, smoke = "./smoke.ts" } = {}) => {
  mkdirSync(dir, { recursive: true })
  for (const program of programs) writeFileSync(join(dir, `${program.name}.ts`), program.source)
  writeFileSync(join(dir, "smoke.ts"), readFileSync(join(root, "test/runtimes/smoke.ts"), "utf8"))
  if (commonjs) {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "packed-cjs-app", private: true, type: "commonjs" }))
    writeFileSync(join(dir, "entries.cjs"), entriesScript("require(specifier)", "require(\"./smoke.js\")"))
  } else {
    writeFileSync(join(dir, "entries.mjs"), entriesScript("await import(specifier)", `await import(${JSON.stringify(smoke)})`))
  }
}

/** tsc, with Node's own module resolution, over the programs of `dirs` (emitted beside them). */
const compile = (project, dirs) => {
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, skipLibCheck: true, types: [] },
    include: dirs.map((dir) => `${dir}/*.ts`)
  }))
  execFileSync(bin("tsc"), ["-p", join(project, "tsconfig.json")], { cwd: project, stdio: "inherit" })
}

/**
 * Checks that `project`'s node_modules hold one package named effect, of major `line`, and that the
 * library's own resolution of `effect` lands on it.
 */
const checkOneCopy = (project, line) => {
  const copies = execFileSync("find", [join(project, "node_modules"), "-path", "*/effect/package.json"], { encoding: "utf8" })
    .split("\n").filter(Boolean).map((file) => realpathSync(file))
    .filter((file, i, all) => all.indexOf(file) === i && JSON.parse(readFileSync(file, "utf8")).name === "effect")
  const version = copies.length === 1 ? JSON.parse(readFileSync(copies[0], "utf8")).version : undefined
  if (copies.length !== 1 || !version.startsWith(`${line}.`)) {
    throw new Error(`expected one copy of effect ${line}.x in ${project}, found ${copies.join(", ") || "none"}`)
  }
  const library = createRequire(join(project, "node_modules", manifest.name, "package.json"))
  const resolved = realpathSync(library.resolve("effect/package.json"))
  if (resolved !== copies[0]) throw new Error(`the library resolves effect to ${resolved}, the app to ${copies[0]}`)
  return version
}

/** The one npm package named effect in Deno's module graph of `file`. */
const denoEffect = (cwd, file) => {
  const graph = JSON.parse(execFileSync(bin("deno"), ["info", "--json", file], { cwd, encoding: "utf8" }))
  const copies = Object.keys(graph.npmPackages ?? {}).filter((id) => id.startsWith("effect@"))
  if (copies.length !== 1) throw new Error(`expected one copy of effect in Deno's graph, found ${copies.join(", ") || "none"}`)
  return copies[0].slice("effect@".length)
}

const npmInstall = (dir, packages) =>
  execFileSync("npm", [
    "install", "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error", ...packages
  ], { cwd: dir, ...quiet })

const temp = mkdtempSync(join(tmpdir(), "effect-ordered-pack-"))
const programs = readmePrograms()
execFileSync("npm", ["pack", "--silent", "--pack-destination", temp], { cwd: root, ...quiet })
const tarball = join(temp, readdirSync(temp).find((name) => name.endsWith(".tgz")))
const packed = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n")
for (const subpath of subpaths) {
  const target = manifest.exports[subpath]
  for (const file of [target.import, target.types, target.default]) {
    if (!packed.includes(`package/${file.replace(/^\.\//, "")}`)) throw new Error(`${tarball} lacks ${file} (${subpath})`)
  }
}
console.log(`✓ npm pack: ${tarball.split("/").at(-1)}, ${packed.filter(Boolean).length} files, every entry's module and types`)

/** The runs: `[name, cwd, command, kind]`; kind "entries" imports every entry then smoke.ts, a program one of README's. */
const runs = []
/** Node's runs of a project's ESM and CommonJS parts. */
const nodeRuns = (label, project) => {
  for (const [mode, dir, entries] of [["ESM", project, "entries.mjs"], ["CommonJS", join(project, "cjs"), "entries.cjs"]]) {
    runs.push([`${label}, node ${mode}`, dir, [process.execPath, entries], "entries"])
    for (const program of programs) runs.push([`${label}, node ${mode}`, dir, [process.execPath, `${program.name}.js`], program])
  }
}
/** Bun's or Deno's runs of a project's ESM part, from TypeScript source. */
const tsRuns = (label, dir, command) => {
  runs.push([label, dir, [...command, "entries.mjs"], "entries"])
  for (const program of programs) runs.push([label, dir, [...command, `${program.name}.ts`], program])
}
const deno = [bin("deno"), "run", "--quiet", "--allow-read", "--allow-env"]

/** An npm project on `line` (ESM, with a CommonJS part in cjs/), installed with `effect`; Node's runs. */
const npmProject = (line, effect) => {
  const app = join(temp, `effect${line}`)
  writePrograms(app, programs, { smoke: "./smoke.js" })
  writePrograms(join(app, "cjs"), programs, { commonjs: true })
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: `packed-app-${line}`, private: true, type: "module" }))
  npmInstall(app, [tarball, effect, ...optionalPeers])
  const version = checkOneCopy(app, line)
  compile(app, [".", "cjs"])
  nodeRuns(`effect ${line}, npm`, app)
  return { app, version }
}

const denoManifest = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"))
/** A Deno project on `line` with `config` (deno.json), then `deno add npm:effect` (`@3` on effect 3) and the peers. */
const denoProject = (app, line, config, label) => {
  writePrograms(app, programs)
  writeFileSync(join(app, "deno.json"), JSON.stringify(config))
  const effect = line === 3 ? "npm:effect@3" : "npm:effect"
  execFileSync(bin("deno"), ["add", effect, ...optionalPeers.map((peer) => `npm:${peer}`)], { cwd: app, ...quiet })
  const version = denoEffect(app, "entries.mjs")
  if (!version.startsWith(`${line}.`)) throw new Error(`deno add ${effect} gave effect ${version}, not effect ${line}`)
  tsRuns(`effect ${line}, deno add ${effect}, ${label}`, app, deno)
  return version
}

const projects = {
  // effect 3: npm, ESM and CommonJS; Bun and Deno (node_modules) in the same project; Deno from source.
  "npm i <tarball> effect@3": () => {
    const { app, version } = npmProject(3, `effect@${versionOf("effect")}`)
    tsRuns("effect 3, bun (npm project)", app, [bin("bun"), "run"])
    tsRuns("effect 3, deno (npm project, node_modules)", app, deno)
    runs.push(["effect 3, deno (source, deno.json)", root, [...deno, "test/runtimes/smoke.ts"], "smoke"])
    return version
  },
  "npm i <tarball> effect@^4": () => npmProject(4, "effect@^4").version,
  "bun add <tarball> effect": () => {
    const app = join(temp, "bun4")
    writePrograms(app, programs)
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "packed-bun-app", private: true, type: "module" }))
    execFileSync(bin("bun"), ["add", tarball, "effect", ...optionalPeers], { cwd: app, ...quiet })
    const version = checkOneCopy(app, 4)
    tsRuns("effect 4, bun add", app, [bin("bun"), "run"])
    return version
  },
  // The package's source from its folder (the unpacked tarball) in deno.json's imports; Deno's npm cache.
  "deno add npm:effect, the package's folder": () => {
    const app = join(temp, "deno4")
    mkdirSync(app, { recursive: true })
    execFileSync("tar", ["-xzf", tarball, "-C", app])
    const imports = subpaths.map((subpath, i) => [specifiers[i], `./package/${join("src", subpath, "index.ts")}`])
    return denoProject(app, 4, { imports: Object.fromEntries(imports) }, "the package's folder")
  },
  // As from JSR (`deno add jsr:@effect-ordered/effect-ordered npm:effect`), `links` standing in for the
  // registry: the package is this checkout, with its own deno.json, whose `effect` must give way to the app's.
  ...Object.fromEntries([3, 4].map((line) => [`deno add jsr:… npm:effect${line === 3 ? "@3" : ""}`, () => {
    const jsr = (subpath) => `jsr:${denoManifest.name}@^${denoManifest.version}${subpath.slice(1)}`
    const imports = subpaths.map((subpath, i) => [specifiers[i], jsr(subpath)])
    return denoProject(join(temp, `jsr${line}`), line, { imports: Object.fromEntries(imports), links: [root] }, "as from JSR")
  }]))
}
let unset = 0
const installed = []
for (const [name, setUp] of Object.entries(projects)) {
  try {
    installed.push(`${name}: effect ${setUp()}`)
  } catch (error) {
    unset++
    console.error(`✗ ${name}: ${(error.stderr?.toString().trim() || error.message).split("\n").slice(0, 8).join("\n  ")}`)
  }
}
console.log(`✓ one copy of effect, of its line, the one the library resolves: ${installed.join("; ")}`)

const smokeOk = (line) => {
  const result = JSON.parse(line)
  return result.ordered === true && result.timeout === true &&
    JSON.stringify(result.keyed) === JSON.stringify(["a0", "b1", "a2", "c3", "b4", "a5"])
}
const entriesOk = (line) => {
  const entries = JSON.parse(line)
  return specifiers.every((specifier) => entries[specifier]?.length > 0) && entries[manifest.name].includes("Ordered")
}
/** Whether `out` is what the run's kind expects. */
const outputOk = (kind, out) => {
  const lines = out.split("\n")
  if (kind === "smoke") return smokeOk(lines.at(-1))
  if (kind === "entries") return lines.length === 2 && entriesOk(lines[0]) && smokeOk(lines[1])
  return normalize(out) === normalize(kind.expected.join("\n"))
}

/** The lines of a failed run's output that name the error (Bun prints the source around it first). */
const errorLines = (output) => {
  const lines = output.split("\n")
  const named = lines.filter((line) => /error/i.test(line))
  return (named.length > 0 ? named : lines).slice(0, 4).join("\n  ")
}
/** Runs `run`; resolves with its failure message, or undefined when its output is what its kind expects. */
const check = async ([, cwd, [cmd, ...args], kind]) => {
  const what = typeof kind === "string" ? kind : kind.name
  try {
    const { stdout } = await execFileAsync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } })
    return outputOk(kind, stdout.trim()) ? undefined : `${what}: unexpected output: ${stdout.trim()}`
  } catch (error) {
    return `${what}: ${errorLines(error.stderr?.trim() || error.message)}`
  }
}
// Most of a run is a runtime starting up: a few at once.
const failures = new Array(runs.length)
let nextRun = 0
await Promise.all(Array.from({ length: 4 }, async () => {
  while (nextRun < runs.length) {
    const i = nextRun++
    failures[i] = await check(runs[i])
  }
}))
let failed = 0
const results = new Map()
runs.forEach(([name, , , kind], i) => {
  if (failures[i] === undefined) results.set(name, [...(results.get(name) ?? []), typeof kind === "string" ? kind : kind.name])
  else {
    failed++
    console.error(`✗ ${name}: ${failures[i]}`)
  }
})
for (const [name, passed] of results) console.log(`✓ ${name}: ${passed.join(", ")}`)
rmSync(temp, { recursive: true, force: true })
console.log(`runtimes: ${runs.length - failed} runs passed, ${failed} failed; ${unset} of ${Object.keys(projects).length} projects not set up; ${
  Math.round((Date.now() - started) / 1000)
} s`)
process.exit(failed === 0 && unset === 0 ? 0 : 1)
