/**
 * `npm run bench`: every benchmark of the package, each printing its tables
 * and ratios against peers measured in the same run, then the targets.
 * Compiled with tsc (not tsx) so that no loader rewrites the code it times.
 */
import { runCoreBench } from "./core.ts"
import { runSequencerBench } from "./sequencer.ts"
import { runSimulatedBench } from "./simulated.ts"
import { printChecks } from "./table.ts"

const started = performance.now()
console.log(`effect-ordered benchmarks — node ${process.version}, ${new Date().toISOString()}`)
const checks = [...(await runCoreBench()), ...(await runSimulatedBench()), ...(await runSequencerBench())]
const allMet = printChecks(checks)
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = allMet ? 0 : 1
