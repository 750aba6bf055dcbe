/**
 * `npm run bench`: every benchmark of the package, each printing its tables
 * and ratios against peers measured in the same run, then the targets. The
 * CPU tables run on effect 3 and again on effect 4, from `effect4Bench()`.
 * Compiled with tsc (not tsx) so that no loader rewrites the code it times.
 */
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs"
import { dirname, join } from "node:path"
import { runCoreBench, runCpuBench, thisBench } from "./core.ts"
import { runSequencerBench } from "./sequencer.ts"
import { runSimulatedBench } from "./simulated.ts"
import { printChecks } from "./table.ts"

/**
 * The compiled bench folder of a copy of the build, `build/effect4/`, whose
 * `node_modules/effect` links to the `effect4` alias: the CPU tables' children
 * started from there run the same code on effect 4, each contender against its
 * own line's Effect.
 */
const effect4Bench = (): string => {
  const build = dirname(thisBench)
  const copy = join(build, "effect4")
  rmSync(copy, { recursive: true, force: true })
  mkdirSync(join(copy, "node_modules"), { recursive: true })
  for (const folder of ["src", "bench"]) cpSync(join(build, folder), join(copy, folder), { recursive: true })
  symlinkSync(join(build, "..", "node_modules", "effect4"), join(copy, "node_modules", "effect"), "dir")
  return join(copy, "bench")
}

const started = performance.now()
console.log(`effect-ordered benchmarks — node ${process.version}, ${new Date().toISOString()}`)
const coreChecks = await runCoreBench()
console.log("\n## The CPU tables again, on effect 4")
const checks = [...coreChecks, ...runCpuBench(effect4Bench()), ...(await runSimulatedBench()), ...(await runSequencerBench())]
const allMet = printChecks(checks)
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = allMet ? 0 : 1
