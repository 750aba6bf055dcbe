/**
 * `npm run bench`: every benchmark of the package, each printing its tables
 * and ratios against peers measured in the same run, then the targets. The
 * CPU tables run on effect 3 and again on effect 4 (`onEffect4`).
 * Compiled with tsc (not tsx) so that no loader rewrites the code it times.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runCoreBench } from "./core.ts"
import { runSequencerBench } from "./sequencer.ts"
import { runSimulatedBench } from "./simulated.ts"
import { type Check, printChecks } from "./table.ts"

/**
 * The CPU tables on effect 4: the compiled bench is copied into
 * `build/effect4/`, whose `node_modules/effect` links to the `effect4`
 * alias, and run there in a process of its own; its checks come back as JSON.
 */
const onEffect4 = (): ReadonlyArray<Check> => {
  const build = dirname(dirname(fileURLToPath(import.meta.url)))
  const copy = join(build, "effect4")
  rmSync(copy, { recursive: true, force: true })
  mkdirSync(join(copy, "node_modules"), { recursive: true })
  for (const folder of ["src", "bench"]) cpSync(join(build, folder), join(copy, folder), { recursive: true })
  symlinkSync(join(build, "..", "node_modules", "effect4"), join(copy, "node_modules", "effect"), "dir")
  const checksFile = join(tmpdir(), `effect-ordered-bench-${process.pid}.json`)
  execFileSync(process.execPath, ["--expose-gc", join(copy, "bench", "effect4.js"), checksFile], { stdio: "inherit" })
  return JSON.parse(readFileSync(checksFile, "utf8"))
}

const started = performance.now()
console.log(`effect-ordered benchmarks — node ${process.version}, ${new Date().toISOString()}`)
const checks = [...(await runCoreBench()), ...onEffect4(), ...(await runSimulatedBench()), ...(await runSequencerBench())]
const allMet = printChecks(checks)
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = allMet ? 0 : 1
