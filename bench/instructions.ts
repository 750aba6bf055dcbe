/**
 * `npm run bench:instructions [-- 3 | 4]`: the rows behind issue #22's
 * targets in instructions per action, counted by valgrind's callgrind (as
 * CodSpeed's CPU simulation counts benchmarks on shared CI machines), on
 * effect 3 and effect 4 (or the line given). On this shared machine the same
 * row's time spreads widely between processes (the floor on promise actions
 * from 1.03M/s to 1.75M/s in one afternoon); a count does not depend on the
 * machine's load. `--single-threaded` runs V8's compiler and GC on the main
 * thread, in the same order every time. A count leaves out what costs time
 * beyond its instructions: cache misses, waiting, a clock read (56–70 ns
 * here, for about 240 instructions on effect 4). So it complements
 * `npm run bench`, whose tables in time are the targets; it does not replace
 * them.
 *
 * Each row runs in two processes under callgrind, one that makes the runs
 * left out and one that makes the counted runs too (`bench/counted.ts`):
 * the difference is what the counted runs cost, with node's start, the
 * module loading and V8's first compiling left out. It took 38 minutes for
 * both lines on this 2-core machine, and needs valgrind (Debian:
 * `valgrind`). Not alongside `npm run bench`: both rebuild `build/`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { join } from "node:path"
import { CONCURRENCY, describeKind, type Kind, ROW, tables } from "./contenders.ts"
import { effect4Bench, issue22Checks, thisBench } from "./core.ts"
import { type Check, onLine, printChecks, printTable, ratio } from "./table.ts"

/**
 * Runs of the rows' own 200,000 actions, as in the tables; of each kind's,
 * `warmUp` are left out and `counted` are counted. Runs of 20,000 would take
 * less time, but starting and ending a run (the workers forked, the scope,
 * the metrics registered) would weigh ten times as much per action as in
 * the tables, and after 8 of them V8 still optimized a closure or two per
 * run: 13% more for `Ordered.mapEffect` on promise actions (effect 3) than
 * runs of 200,000. An instant run costs a tenth of a promise run, so a major
 * GC weighs ten times as much in it: counted over two runs, two instant
 * rows of the same cost came out 18% apart (`"auto"` at 759 instructions
 * per action, a fixed window at 896; 864 and 883 over twenty runs).
 */
const RUNS: Record<Kind, { readonly warmUp: number; readonly counted: number }> = {
  instant: { warmUp: 10, counted: 20 },
  promise: { warmUp: 4, counted: 2 }
}

/** The rows counted in each table: those issue #22's targets compare (its window target is on instant actions). */
const COUNTED_ROWS: Record<Kind, ReadonlyArray<number>> = {
  instant: [ROW.floor, ROW.forEach, ROW.mapEffect, ROW.fixedWindow, ROW.metricsOnly],
  promise: [ROW.floor, ROW.forEach, ROW.mapEffect, ROW.metricsOnly]
}
/** Promise actions are counted again after the `prelude` (docs/benchmarks.md, "A fresh process flatters the floor"). */
const PRELUDE_ROWS = [ROW.floor, ROW.forEach, ROW.mapEffect]

/** The valgrind processes running: stopped should this one end first (a failed count). */
const running = new Set<ChildProcess>()
process.on("exit", () => {
  for (const child of running) child.kill()
})

/** The instructions callgrind counted in one process that made `runs` runs of the row. */
const instructionsOf = (bench: string, runs: number, kind: Kind, index: number, prelude: boolean): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = [join(bench, "counted.js"), String(runs), String(tables[kind][index].n), kind, String(index), ...(prelude ? ["prelude"] : [])]
    const args = ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, "--single-threaded", ...child]
    const valgrind = spawn("valgrind", args, { stdio: ["ignore", "inherit", "pipe"] })
    running.add(valgrind)
    let log = ""
    valgrind.stderr.setEncoding("utf8").on("data", (data: string) => log += data)
    valgrind.on("error", reject)
    valgrind.on("close", (code) => {
      running.delete(valgrind)
      const collected = /Collected : (\d+)/.exec(log)
      if (code === 0 && collected !== null) resolve(Number(collected[1]))
      else reject(new Error(`valgrind ${args.join(" ")} exited with ${code}:\n${log.slice(-2_000)}`))
    })
  })

/** Instructions per action of the row's counted runs: two processes, side by side. */
const perAction = async (bench: string, kind: Kind, index: number, prelude: boolean): Promise<number> => {
  const { counted, warmUp } = RUNS[kind]
  const [before, after] = await Promise.all([
    instructionsOf(bench, warmUp, kind, index, prelude),
    instructionsOf(bench, warmUp + counted, kind, index, prelude)
  ])
  return (after - before) / (counted * tables[kind][index].n)
}

/** Counts a table's rows on `line`, prints them, and checks issue #22's targets in instructions. */
const countTable = async (bench: string, line: 3 | 4, kind: Kind): Promise<ReadonlyArray<Check>> => {
  const fresh: Array<number> = []
  for (const index of COUNTED_ROWS[kind]) fresh[index] = await perAction(bench, kind, index, false)
  const afterPrelude: Array<number> = []
  if (kind === "promise") for (const index of PRELUDE_ROWS) afterPrelude[index] = await perAction(bench, kind, index, true)
  const rows = [
    ...COUNTED_ROWS[kind].map((index) => [tables[kind][index].name, fresh[index], fresh[ROW.floor]] as const),
    ...(kind === "promise" ? PRELUDE_ROWS : []).map((index) =>
      [`${tables[kind][index].name}, after \`prelude\``, afterPrelude[index], afterPrelude[ROW.floor]] as const
    )
  ]
  const { counted, warmUp } = RUNS[kind]
  printTable(
    `Instructions per action on effect ${line}, ${describeKind(kind)} (callgrind, node --single-threaded; runs ${warmUp + 1}–${warmUp + counted} of 200,000 actions, concurrency ${CONCURRENCY})`,
    ["operator", "instructions per action", "vs Effect's floor (as a rate)"],
    // A rate is the inverse of a cost: the floor's count over the row's.
    rows.map(([name, instructions, floor]) => [name, Math.round(instructions).toLocaleString("en-US"), ratio(floor, instructions)])
  )
  return onLine(line, issue22Checks(kind, fresh.map((instructions) => 1 / instructions), "in instructions"))
}

const linesOf = (args: ReadonlyArray<string>): ReadonlyArray<3 | 4> => {
  for (const arg of args) {
    if (arg !== "3" && arg !== "4") throw new Error(`Expected each argument to be an Effect line, 3 or 4, got ${JSON.stringify(arg)}`)
  }
  return args.length === 0 ? [3, 4] : [...new Set(args)].map(Number) as Array<3 | 4>
}

const lines = linesOf(process.argv.slice(2))
try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" })
} catch {
  throw new Error("bench:instructions needs valgrind on the PATH (Debian: apt-get install valgrind)")
}
const started = performance.now()
console.log(`effect-ordered instruction counts — node ${process.version}, ${new Date().toISOString()}`)
const checks: Array<Check> = []
for (const line of lines) {
  const bench = line === 3 ? thisBench : effect4Bench()
  for (const kind of ["instant", "promise"] as const) checks.push(...await countTable(bench, line, kind))
}
const allMet = printChecks(checks)
console.log(`\nbench:instructions took ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = allMet ? 0 : 1
