/**
 * `npm run bench`: every benchmark of the package, each printing its tables
 * and ratios against peers measured in the same run, then the targets. The
 * CPU tables run on effect 3 and again on effect 4, from `effect4Bench()`.
 * Compiled with tsc (not tsx) so that no loader rewrites the code it times.
 */
import { effect4Bench, runCoreBench, runCpuBench } from "./core.ts"
import { runSequencerBench } from "./sequencer.ts"
import { runSimulatedBench } from "./simulated.ts"
import { printChecks } from "./table.ts"

const started = performance.now()
console.log(`effect-ordered benchmarks — node ${process.version}, ${new Date().toISOString()}`)
const coreChecks = await runCoreBench()
console.log("\n## The CPU tables again, on effect 4")
const checks = [...coreChecks, ...runCpuBench(effect4Bench()), ...(await runSimulatedBench()), ...(await runSequencerBench())]
const allMet = printChecks(checks)
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = allMet ? 0 : 1
