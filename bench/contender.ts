/**
 * One contender of a CPU table, timed in a process of its own:
 * `node --expose-gc contender.js <table> <index> [prelude]` (`bench/core.ts`
 * starts it once per round) warms the contender up, times it, and prints a
 * `Measurement` as JSON; with `prelude`, after running the table's `prelude`.
 * A process of its own, because contenders timed in one process share V8's
 * inline caches and optimized code, Effect's runtime and the engine's alike:
 * whichever ran before left them shaped for other call sites
 * (docs/benchmarks.md).
 */
import { type Contender, input, prelude, rowOf, type Table, tables } from "./contenders.ts"
import * as runtime from "./line.ts"
import { cpuSeconds, gc, heapUsed } from "./table.ts"

/** What a child answers: its Effect line, its best rate, and the heap its runs left retained. */
export interface Measurement {
  readonly line: 3 | 4
  /** Elements per CPU second of the child (user and system time, GC threads included), best of the child's timed runs. */
  readonly rate: number
  /** Heap that one more run, after the timed ones, left retained after a full GC: what a run leaks. */
  readonly retained: number
}

/**
 * A child first runs its row, a tenth of its actions and then whole runs,
 * until it has made at least five whole runs and spent at least a CPU second
 * (at most five CPU seconds), so that every row is timed at its steady state,
 * not part-way up its JIT curve. Runs, not only time: the floor's one loop is
 * optimized within its first run, while the engine and the peers, with many
 * more functions, took about five runs of 200,000 actions (effect 3, instant
 * actions: 0.9M/s on the first run, 6.9M/s from the fifth), and a second of
 * a slow row holds fewer runs than a second of a fast one.
 */
const WARM_UP_RUNS = 5
const WARM_UP_SECONDS = 1
const WARM_UP_MAX_SECONDS = 5

/**
 * Then at most three timed runs, as many as fit in one CPU second (at least
 * one): three so that one run's unlucky GC does not decide a round, one for
 * the slow peers (Stream.mapEffect, a span per action, Effect's groupByKey),
 * whose single run takes seconds, long enough to be steady.
 *
 * No forced collection before a timed run: a full GC throws away the
 * optimized code that embeds the previous run's objects (V8's "weak objects"
 * deoptimization), so each run would be timed while it re-optimizes — 55–73
 * functions recompiled per run instead of 2–3, and every row, the floor
 * included, at a third to a half of its steady rate.
 */
const TIMED_RUNS = 3
const TIMED_SECONDS = 1

const retained = (): number => {
  gc()
  return heapUsed()
}

/** CPU seconds that one run of `n` actions takes. */
const timed = async (contender: Contender, n: number): Promise<number> => {
  const start = cpuSeconds()
  await contender.run(n)
  return cpuSeconds() - start
}

const measure = async (table: Table, index: number): Promise<Measurement> => {
  const contender = tables[table][index]
  input(contender.n)
  let warming = await timed(contender, contender.n / 10)
  for (let runs = 0; (runs < WARM_UP_RUNS || warming < WARM_UP_SECONDS) && warming < WARM_UP_MAX_SECONDS; runs++) {
    warming += await timed(contender, contender.n)
  }
  let rate = 0
  let spent = 0
  for (let run = 0; run < TIMED_RUNS && spent < TIMED_SECONDS; run++) {
    const seconds = await timed(contender, contender.n)
    spent += seconds
    rate = Math.max(rate, contender.n / seconds)
  }
  // After the timed runs, whose collections would slow them: one more run, between two full GCs.
  const baseline = retained()
  await contender.run(contender.n)
  return { line: runtime.line, rate, retained: retained() - baseline }
}

const { index, preludeKind, table } = rowOf(process.argv.slice(2))
if (preludeKind !== undefined) await prelude(preludeKind)
process.stdout.write(JSON.stringify(await measure(table, index)))
