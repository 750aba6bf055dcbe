/**
 * The CPU tables on effect 4 (issue #19): `npm run bench` (`bench/index.ts`)
 * runs this compiled file from `build/effect4/`, a copy of the build whose
 * `node_modules/effect` is the `effect4` alias, so that the same code runs
 * on the other line, each contender against its own line's Effect. It
 * writes its checks as JSON to the file named by its first argument.
 */
import { writeFileSync } from "node:fs"
import * as runtime from "./line.ts"
import { runCpuBench } from "./core.ts"

console.log(`\n## The CPU tables again, on effect ${runtime.line}`)
const checks = await runCpuBench()
writeFileSync(process.argv[2], JSON.stringify(checks))
