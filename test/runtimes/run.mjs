// Runs test/runtimes/smoke.ts under Deno (source, via deno.json) and under Bun
// and Node (built dist/, via package.json exports) and checks each one's output.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = (name) => `${root}node_modules/.bin/${name}`
execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" })
execFileSync(bin("tsc"), ["-p", "test/runtimes/tsconfig.json"], { cwd: root, stdio: "inherit" })

const runs = [
  ["deno", [bin("deno"), "run", "--quiet", "--allow-read", "--allow-env", "test/runtimes/smoke.ts"]],
  ["bun", [bin("bun"), "run", "test/runtimes/smoke.ts"]],
  ["node", [process.execPath, "test/runtimes/build/smoke.js"]]
]
let failed = 0
for (const [name, [cmd, ...args]] of runs) {
  let out = ""
  try {
    out = execFileSync(cmd, args, { cwd: root, encoding: "utf8", timeout: 120_000 }).trim()
    const result = JSON.parse(out.split("\n").pop())
    const ok = result.ordered === true && result.timeout === true &&
      JSON.stringify(result.keyed) === JSON.stringify(["a0", "b1", "a2", "c3", "b4", "a5"])
    if (!ok) throw new Error(`unexpected output: ${out}`)
    console.log(`✓ ${name}: public import works (${out})`)
  } catch (error) {
    failed++
    console.error(`✗ ${name}: ${error.message}`)
  }
}
console.log(`runtimes: ${runs.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
