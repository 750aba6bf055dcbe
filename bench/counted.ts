/**
 * One row of a CPU table, run for `bench/instructions.ts` under valgrind's
 * callgrind, which counts the instructions of the whole process:
 * `node --single-threaded counted.js <runs> <n> <table> <index> [prelude]`
 * runs the row `runs` times over `n` actions (after the table's `prelude`
 * with `prelude`) and exits. The parent subtracts the counts of two such
 * processes that differ only in `runs`.
 */
import { input, prelude, rowOf, tables } from "./contenders.ts"
import { positiveInteger } from "./table.ts"

const [runs, n, ...row] = process.argv.slice(2)
const { index, preludeKind, table } = rowOf(row)
const contender = tables[table][index]
const size = positiveInteger("n", n)
const count = positiveInteger("runs", runs)
if (preludeKind !== undefined) await prelude(preludeKind)
input(size)
for (let run = 0; run < count; run++) await contender.run(size)
