/**
 * CPU and memory cost of the ordering engine against its peers, all measured
 * in the same run on the same machine: elements per CPU second for actions that succeed at
 * once and for actions that complete through a resolved promise, heap with a
 * stalled head, and key mode with one key per action.
 *
 * Every row of a CPU table is timed in a node process of its own, started
 * afresh each round (`bench/contender.ts`), so that no row runs on inline
 * caches and optimized code that other rows shaped. Three rounds, not five:
 * each child first spends 0.5–0.7 s loading `effect` (docs/benchmarks.md
 * has the numbers). `BENCH_ROUNDS=1` makes a quick run. The memory tables
 * stay in this process: they read the heap, not a rate.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Deferred, Effect, Stream } from "effect"
import { Ordered } from "../src/index.ts"
import type { Measurement } from "./contender.ts"
import { byRow, CONCURRENCY, describeKind, keyed, type Kind, range, ROW, type Table, tables } from "./contenders.ts"
import { check, type Check, cpuSeconds, formatBytes, formatRate, gc, heapUsed, onLine, positiveInteger, printTable, ratio } from "./table.ts"

const ROUNDS = process.env.BENCH_ROUNDS === undefined ? 3 : positiveInteger("BENCH_ROUNDS", process.env.BENCH_ROUNDS)

/** This build's bench folder, whose children run the rows on effect 3; `effect4Bench` makes effect 4's. */
export const thisBench = dirname(fileURLToPath(import.meta.url))

/**
 * The compiled bench folder of a copy of the build, `build/effect4/`, whose
 * `node_modules/effect` links to the `effect4` alias: the CPU tables' children
 * started from there run the same code on effect 4, each contender against its
 * own line's Effect.
 */
export const effect4Bench = (): string => {
  const build = dirname(thisBench)
  const copy = join(build, "effect4")
  rmSync(copy, { recursive: true, force: true })
  mkdirSync(join(copy, "node_modules"), { recursive: true })
  for (const folder of ["src", "bench"]) cpSync(join(build, folder), join(copy, folder), { recursive: true })
  symlinkSync(join(build, "..", "node_modules", "effect4"), join(copy, "node_modules", "effect"), "dir")
  return join(copy, "bench")
}

/**
 * One timed child: `bench` is the compiled bench folder whose `effect` the
 * child loads; `withPrelude`: it runs the table's `prelude` first.
 */
const measureIn = (bench: string, table: Table, index: number, withPrelude: boolean): Measurement => {
  const args = ["--expose-gc", join(bench, "contender.js"), table, String(index), ...(withPrelude ? ["prelude"] : [])]
  return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }))
}

/**
 * A row whose one run takes longer is timed in the first round only: on
 * effect 3, Stream.mapEffect and Effect's groupByKey (tens to hundreds of
 * times slower than the engine, against targets of 50× and 1×) and a span
 * per action on promise actions (a ratio reported, not a target). Their later
 * rounds would cost about a minute of the bench and move no target.
 */
const SLOW_RUN_SECONDS = 2

/**
 * The best rate (and the most heap it left retained) of each of `rows` (all
 * of the table's by default) over `ROUNDS` rounds, each row a fresh process
 * per round, which runs the table's `prelude` first `withPrelude`. Indexed by
 * row: rows not asked for are holes. Elements per CPU second, not per wall
 * second: on a machine shared with other work, wall time counts the time the
 * process waited for a core, which depends on the others' load, not on the
 * contender. Rounds are interleaved — every row once per round, round r
 * starting at the r-th of `rows` — so that what load still changes (caches,
 * frequency) hits them all alike instead of one.
 */
const rates = (
  bench: string,
  table: Table,
  rows: ReadonlyArray<number> = tables[table].map((_, i) => i),
  withPrelude = false
): Array<Measurement> => {
  const count = rows.length
  const best: Array<Measurement> = []
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < count; k++) {
      const i = rows[(k + round) % count]
      if (best[i] !== undefined && tables[table][i].n / best[i].rate > SLOW_RUN_SECONDS) continue
      const measured = measureIn(bench, table, i, withPrelude)
      best[i] = best[i] === undefined ? measured : {
        line: measured.line,
        rate: Math.max(best[i].rate, measured.rate),
        retained: Math.max(best[i].retained, measured.retained)
      }
    }
  }
  return best
}

const throughput = (bench: string, kind: Kind): ReadonlyArray<Check> => {
  const list = tables[kind]
  const rows = rates(bench, kind)
  const { line } = rows[0]
  const measured = rows.map((row) => row.rate)
  const { effectForEach, fibers, floor, forEach, mapEffect, metricsAndSpans, oneWorker, pMap, streamMapEffect, timeout } = byRow(measured)
  printTable(
    `CPU cost on effect ${line}, ${describeKind(kind)} (200,000 actions, concurrency ${CONCURRENCY}; best of ${ROUNDS} interleaved rounds, a process per row and round)`,
    ["operator", "elements per CPU s", "vs Effect's floor", "vs Stream.mapEffect", "vs Effect.forEach", "vs pMapIterable"],
    list.map(({ name }, i) => [name, measured[i]] as const).map(([name, r]) => [
      name,
      formatRate(r),
      ratio(r, floor),
      ratio(r, streamMapEffect),
      ratio(r, effectForEach),
      ratio(r, pMap)
    ])
  )
  // Its table follows this one.
  const preludeChecks = kind === "promise" ? afterPrelude(bench, line, measured) : []
  return onLine(line, [
    check(`${kind}: Ordered.mapEffect ≥ 50× Stream.mapEffect`, mapEffect / streamMapEffect >= 50, ratio(mapEffect, streamMapEffect)),
    check(`${kind}: Ordered.mapEffect ≥ 1.5× Effect.forEach`, mapEffect / effectForEach >= 1.5, ratio(mapEffect, effectForEach)),
    check(`${kind}: Ordered.mapEffect ≥ 0.8× pMapIterable`, mapEffect / pMap >= 0.8, ratio(mapEffect, pMap)),
    check(`${kind}: Ordered.forEach ≥ 1.5× Effect.forEach`, forEach / effectForEach >= 1.5, ratio(forEach, effectForEach)),
    ...issue22Checks(kind, measured),
    check(`${kind}: name set, metrics and spans (reported)`, true, ratio(metricsAndSpans, mapEffect)),
    check(`${kind}: timeout set (reported)`, true, ratio(timeout, mapEffect)),
    // Promise actions: what a hundred workers can reach at all on this line, before any ordering; and the
    // engine with one worker, whose distance to the floor is its own cost per action, not a hundred fibers'.
    ...(kind === "promise"
      ? [
        check(`promise: 100 fibers, no order kept, vs Effect's floor (reported)`, true, ratio(fibers, floor)),
        check(`promise: Ordered.forEach, one worker, vs Effect's floor (reported)`, true, ratio(oneWorker, floor)),
        ...preludeChecks
      ]
      : []),
    ...(line === 4 ? effect4Checks(kind, { mapEffect, forEach, effectForEach, floor, pMap }) : [])
  ])
}

/**
 * Issue #22's targets, over a throughput table's `rate` by row (elements per
 * CPU second, or, from `bench/instructions.ts`, the inverse of instructions
 * per action, `measure` naming the unit); a row left out is not checked.
 * Effect's floor: what its runtime costs per action with one fiber and no
 * ordering.
 */
export const issue22Checks = (kind: Kind, rate: ReadonlyArray<number>, measure?: string): ReadonlyArray<Check> => {
  const { fixedWindow, floor, forEach, mapEffect, metricsOnly } = byRow(rate)
  const at = measure === undefined ? kind : `${kind}, ${measure}`
  const target = (row: number | undefined, name: string, least: number, base: number | undefined, baseName: string) =>
    row === undefined || base === undefined ? [] : [check(`${at}: ${name} ≥ ${least}× ${baseName}`, row / base >= least, ratio(row, base))]
  return [
    ...target(forEach, "Ordered.forEach", 0.75, floor, "Effect's floor"),
    ...target(mapEffect, "Ordered.mapEffect", 0.75, floor, "Effect's floor"),
    ...target(mapEffect, "window auto", 0.95, fixedWindow, "a fixed window"),
    ...target(metricsOnly, "name set, metrics only", 0.9, mapEffect, "no name")
  ]
}

/**
 * Promise actions: rows of the table timed again, each child after the
 * table's `prelude` (Effect's own Streams), as in a process that has
 * run other Effect code first, where Effect's runtime no longer runs at the
 * best case that a process running one loop gives it. `fresh`: the rates of
 * the table, for the cost of the prelude to each row. Prints its table;
 * returns checks that are reported, not targets.
 */
const afterPrelude = (bench: string, line: 3 | 4, fresh: ReadonlyArray<number>): ReadonlyArray<Check> => {
  const { effectForEach, fibers, floor, forEach, mapEffect, oneWorker, pMap } = ROW
  const measured = rates(bench, "promise", PRELUDE_ROWS, true).map((row) => row.rate)
  printTable(
    `CPU cost on effect ${line}, ${describeKind("promise")}, after Effect's Streams have run in the process (the rows above, timed again after \`prelude\`; best of ${ROUNDS} interleaved rounds, a process per row and round)`,
    ["operator", "elements per CPU s", "vs Effect's floor", "vs the same row above"],
    PRELUDE_ROWS.map((i) => [
      tables.promise[i].name,
      formatRate(measured[i]),
      ratio(measured[i], measured[floor]),
      ratio(measured[i], fresh[i])
    ])
  )
  const against = (name: string, row: number, base: number) =>
    check(`promise, after Effect's Streams: ${name} (reported)`, true, ratio(measured[row], measured[base]))
  return [
    against("Ordered.forEach vs Effect's floor", forEach, floor),
    against("Ordered.mapEffect vs Effect's floor", mapEffect, floor),
    check("promise: Effect's floor after Effect's Streams vs in a fresh process (reported)", true, ratio(measured[floor], fresh[floor])),
    against("Ordered.forEach, one worker, vs Effect's floor", oneWorker, floor),
    against("100 fibers, no order kept, vs Effect's floor", fibers, floor),
    against("Ordered.mapEffect vs Effect.forEach", mapEffect, effectForEach),
    against("Ordered.mapEffect vs pMapIterable", mapEffect, pMap)
  ]
}

/**
 * The promise table's rows that `afterPrelude` times again: the engine's,
 * the floor, Effect.forEach, a peer that runs no Effect (p-map, unmoved by
 * the prelude: a control), and the references.
 */
const PRELUDE_ROWS = [ROW.mapEffect, ROW.forEach, ROW.effectForEach, ROW.floor, ROW.pMap, ROW.fibers, ROW.oneWorker]

/** Issue #19's targets for effect 4, on top of the others. */
const effect4Checks = (
  kind: Kind,
  rate: Readonly<Record<"mapEffect" | "forEach" | "effectForEach" | "floor" | "pMap", number>>
): ReadonlyArray<Check> =>
  kind === "instant"
    ? [
      check("instant: Ordered.forEach ≥ 0.5× Effect's floor", rate.forEach / rate.floor >= 0.5, ratio(rate.forEach, rate.floor)),
      check("instant: Ordered.mapEffect ≥ 0.5× Effect's floor", rate.mapEffect / rate.floor >= 0.5, ratio(rate.mapEffect, rate.floor))
    ]
    : [
      check("promise: Ordered.forEach ≥ 1.0× pMapIterable", rate.forEach >= rate.pMap, ratio(rate.forEach, rate.pMap)),
      check("promise: Ordered.mapEffect ≥ 1.0× pMapIterable", rate.mapEffect >= rate.pMap, ratio(rate.mapEffect, rate.pMap)),
      check("promise: Ordered.mapEffect ≥ 1.0× Effect.forEach", rate.mapEffect >= rate.effectForEach, ratio(rate.mapEffect, rate.effectForEach))
    ]

/** Heap still reachable after a full collection: what the run holds on to, not its garbage. */
const retained = (): number => {
  gc()
  return heapUsed()
}

/**
 * 1,000,000 actions where action 0 waits until every action the window lets
 * start has started: the heap retained while stalled.
 */
const stalledHead = async (window: number | "auto", n: number) => {
  const baseline = retained()
  let atStall = 0
  let started = 0
  const canStart = Math.min(n, window === "auto" ? 128 * CONCURRENCY : window)
  const program = Effect.gen(function*() {
    const head = yield* Deferred.make<void>()
    yield* Stream.range(0, n - 1).pipe(
      Ordered.mapEffect((i) => {
        if (++started === canStart) {
          atStall = retained() - baseline
          return Effect.as(Deferred.succeed(head, undefined), i)
        }
        return i === 0 ? Effect.as(Deferred.await(head), i) : Effect.succeed(i)
      }, { concurrency: CONCURRENCY, window }),
      Stream.runDrain
    )
  })
  await Effect.runPromise(program)
  return atStall
}

/** Growth of retained heap from the first reading to each later one. */
const growth = (readings: ReadonlyArray<number>): string =>
  readings.slice(1).map((r) => formatBytes(r - readings[0])).join(" / ")

/** Runs `n` actions and reads the retained heap at 10%, 50% and 90% of the starts. */
const heapProfile = async (n: number, options: Ordered.Options<number>) => {
  const baseline = retained()
  const readings: Array<number> = []
  const marks = new Set([0.1, 0.5, 0.9].map((p) => Math.floor(n * p)))
  let started = 0
  const start = cpuSeconds()
  await Effect.runPromise(Stream.runDrain(Ordered.mapEffect(Stream.range(0, n - 1), (i) => {
    if (marks.has(++started)) readings.push(retained() - baseline)
    return Effect.succeed(i)
  }, options)))
  return { readings, rate: n / (cpuSeconds() - start) }
}

/**
 * `Ordered.forEach` over `n` actions that each return about 1 KB: the heap
 * retained when the last action runs, with and without `discard`.
 */
const resultsHeld = async (n: number, discard: boolean) => {
  const baseline = retained()
  let atLast = 0
  await Effect.runPromise(Ordered.forEach(range(n), (i) => {
    if (i === n - 1) atLast = retained() - baseline
    return Effect.succeed("x".repeat(1000) + i)
  }, { concurrency: CONCURRENCY, discard }))
  return atLast
}

const memory = async (): Promise<ReadonlyArray<Check>> => {
  const N = 1_000_000
  const bounded = await stalledHead(CONCURRENCY * 3, N)
  const auto = await stalledHead("auto", N)
  const unbounded = await stalledHead(Infinity, N)
  const flowing = await heapProfile(N, { concurrency: CONCURRENCY })
  const RESULTS = 100_000
  const kept = await resultsHeld(RESULTS, false)
  const discarded = await resultsHeld(RESULTS, true)
  printTable(
    `Memory, ${N.toLocaleString("en-US")} actions (concurrency ${CONCURRENCY}): heap retained after a full GC`,
    ["run", "retained heap"],
    [
      ["action 0 stalled, window 300: over the baseline", formatBytes(bounded)],
      ["action 0 stalled, window auto (default; holds its maxWindow, 12,800): over the baseline", formatBytes(auto)],
      ["action 0 stalled, window Infinity: over the baseline", formatBytes(unbounded)],
      ["flowing, default window: growth from 10% to 50% / to 90%", growth(flowing.readings)],
      [`Ordered.forEach, ${RESULTS.toLocaleString("en-US")} results of ~1 KB, at the last action: kept`, formatBytes(kept)],
      [`Ordered.forEach, ${RESULTS.toLocaleString("en-US")} results of ~1 KB, at the last action: discard: true`, formatBytes(discarded)]
    ]
  )
  const [first, , last] = flowing.readings
  return [
    check("memory: stalled head, window 300 retains < 5 MB", bounded < 5e6, formatBytes(bounded)),
    check("memory: stalled head, window auto retains < 20 MB", auto < 20e6, formatBytes(auto)),
    check("memory: flat over 1M actions (90% − 10% < 2 MB)", last - first < 2e6, formatBytes(last - first)),
    check("memory: discard: true keeps no results (< 5 MB retained)", discarded < 5e6, formatBytes(discarded))
  ]
}

const keyMode = async (bench: string): Promise<ReadonlyArray<Check>> => {
  const rows = rates(bench, "keys").map(({ rate, retained }, i) => ({ ...tables.keys[i], perSecond: rate, retained }))
  const million = await heapProfile(1_000_000, { concurrency: CONCURRENCY, ...keyed })
  printTable(
    `Key mode: one distinct key per action (concurrency 100, key order; best of ${ROUNDS} interleaved rounds, a process per row and round; heap growth: what one more run leaves retained, the most of any round)`,
    ["operator", "actions", "elements per CPU s", "retained heap growth"],
    [
      ...rows.map((r) => [r.name, r.n.toLocaleString("en-US"), formatRate(r.perSecond), formatBytes(r.retained)]),
      [
        "Ordered.mapEffect, 1,000,000 keys (growth from 10% to 50% / to 90%)",
        "1,000,000",
        formatRate(million.rate),
        growth(million.readings)
      ]
    ]
  )
  const [noKey, keyedRow, keyed20k, effectKeyed] = rows
  return [
    check("keys: a distinct key per action within 2× of no-key elements/s", keyedRow.perSecond * 2 >= noKey.perSecond, ratio(keyedRow.perSecond, noKey.perSecond)),
    check("keys: 20k keys faster than Stream.mapEffect({ key })", keyed20k.perSecond > effectKeyed.perSecond, ratio(keyed20k.perSecond, effectKeyed.perSecond)),
    check("keys: 1M keys, heap flat (90% − 10% < 2 MB)", million.readings[2] - million.readings[0] < 2e6, formatBytes(million.readings[2] - million.readings[0]))
  ]
}

/** The CPU tables alone, timed by the children of `bench` (a compiled bench folder): `npm run bench` runs them on both lines. */
export const runCpuBench = (bench: string): ReadonlyArray<Check> => [
  ...throughput(bench, "instant"),
  ...throughput(bench, "promise")
]

export const runCoreBench = async (): Promise<ReadonlyArray<Check>> => [
  ...runCpuBench(thisBench),
  ...(await memory()),
  ...(await keyMode(thisBench))
]
