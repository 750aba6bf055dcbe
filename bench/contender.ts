/**
 * One contender of a CPU table, timed in a process of its own:
 * `node --expose-gc contender.js <table> <index>` (`bench/core.ts` starts it
 * once per round) warms the contender up, times it, and prints a
 * `Measurement` as JSON. A process of its own, because contenders timed in
 * one process share V8's inline caches and optimized code, Effect's runtime
 * and the engine's alike: whichever ran before left them shaped for other
 * call sites (docs/benchmarks.md).
 */
import { input, type Table, tables } from "./contenders.ts"
import * as runtime from "./line.ts"
import { cpuSeconds, gc, heapUsed } from "./table.ts"

/** What a child answers: its Effect line, its best rate, and the heap its runs left retained. */
export interface Measurement {
  readonly line: 3 | 4
  /** Elements per CPU second of the child (user and system time, GC threads included), best of the child's timed runs. */
  readonly rate: number
  /** Heap retained after a full GC once the timed runs are over, over the reading before them. */
  readonly retained: number
}

/**
 * At most three timed runs per child, as many as fit in one CPU second (at
 * least one): three so that one run's unlucky GC does not decide a round,
 * one for the slow peers (Stream.mapEffect, a span per action, Effect's
 * groupByKey), whose single run takes seconds, long enough to be steady.
 */
const TIMED_RUNS = 3
const TIMED_SECONDS = 1

const retained = (): number => {
  gc()
  return heapUsed()
}

const measure = async (table: Table, index: number): Promise<Measurement> => {
  const contender = tables[table][index]
  // A tenth of the timed size: 20,000 actions for most rows, as in one process before; 2,000 for the slow peers.
  await contender.run(contender.n / 10)
  input(contender.n)
  // After the warm-up: its one-time allocations (compiled code, Effect's caches) are no leak.
  const baseline = retained()
  let rate = 0
  let timed = 0
  for (let run = 0; run < TIMED_RUNS && timed < TIMED_SECONDS; run++) {
    gc()
    const start = cpuSeconds()
    await contender.run(contender.n)
    const seconds = cpuSeconds() - start
    timed += seconds
    rate = Math.max(rate, contender.n / seconds)
  }
  return { line: runtime.line, rate, retained: retained() - baseline }
}

const [table, index] = process.argv.slice(2)
if (!Object.hasOwn(tables, table) || tables[table as Table][Number(index)] === undefined) {
  throw new Error(`Expected a table (${Object.keys(tables).join(", ")}) and a row index, got ${JSON.stringify([table, index])}`)
}
process.stdout.write(JSON.stringify(await measure(table as Table, Number(index))))
