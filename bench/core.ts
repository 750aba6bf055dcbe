/**
 * CPU and memory cost of the ordering engine against its peers, all measured
 * in the same run on the same machine: elements per CPU second for actions that succeed at
 * once and for actions that complete through a resolved promise, heap with a
 * stalled head, and key mode with one key per action.
 */
import { Deferred, Effect, Fiber, Queue, Ref, Stream } from "effect"
import { pMapIterable } from "p-map"
import { Readable } from "node:stream"
import { Ordered } from "../src/index.ts"
import * as runtime from "./line.ts"
import { check, type Check, formatBytes, formatRate, gc, heapUsed, printTable, ratio } from "./table.ts"

const CONCURRENCY = 100

type Runner = (n: number) => Promise<unknown>

interface Contender {
  readonly name: string
  /** How many actions to time (slow peers get fewer; the rate is what counts). */
  readonly n: number
  readonly run: Runner
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/**
 * The inputs of the timed runs, built once outside the timing: building a
 * 200,000-element array costs as much as a tenth of the floor's own run, and
 * would shrink every ratio towards 1.
 */
const inputs = new Map<number, ReadonlyArray<number>>()
const input = (n: number): ReadonlyArray<number> => {
  let array = inputs.get(n)
  if (array === undefined) inputs.set(n, array = range(n))
  return array
}

/**
 * The product's first design sketch, kept as a baseline: Effect.forEach at
 * bounded concurrency, finished results filed in a Ref, the ready prefix
 * offered to a Queue that the consumer drains. (It cannot bound the window:
 * Effect.forEach keeps starting actions behind a stalled head.)
 */
const sketch = (n: number, effectOf: (n: number) => Effect.Effect<number>) =>
  Effect.gen(function*() {
    const ready = yield* Queue.unbounded<number>()
    const window = yield* Ref.make({ head: 0, done: new Map<number, number>() })
    const release = (index: number, value: number) =>
      Effect.flatMap(
        Ref.modify(window, (state) => {
          state.done.set(index, value)
          const out: Array<number> = []
          while (state.done.has(state.head)) {
            out.push(state.done.get(state.head)!)
            state.done.delete(state.head++)
          }
          return [out, state]
        }),
        (out) => Queue.offerAll(ready, out)
      )
    const producer = yield* runtime.fork(
      Effect.forEach(input(n), (a, i) => Effect.flatMap(effectOf(a), (b) => release(i, b)), {
        concurrency: CONCURRENCY,
        discard: true
      })
    )
    let taken = 0
    while (taken < n) taken += (yield* Queue.takeBetween(ready, 1, Infinity)).length
    yield* Fiber.join(producer)
  })

const contenders = (kind: "instant" | "promise"): ReadonlyArray<Contender> => {
  const effectOf = kind === "instant"
    ? (n: number) => Effect.succeed(n)
    : (n: number) => Effect.promise(() => Promise.resolve(n))
  const asyncOf = kind === "instant" ? (n: number) => n : (n: number) => Promise.resolve(n)
  const N = 200_000
  return [
    {
      name: "Ordered.mapEffect (Stream in, Stream out)",
      n: N,
      run: (n) =>
        Effect.runPromise(
          Stream.runDrain(Ordered.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY }))
        )
    },
    {
      // discard: like the floor, and like issue #22's table, it keeps no results.
      name: "Ordered.forEach({ discard: true })",
      n: N,
      run: (n) => Effect.runPromise(Ordered.forEach(input(n), effectOf, { concurrency: CONCURRENCY, discard: true }))
    },
    {
      name: "Ordered.mapEffect, fixed window 300 (default: auto)",
      n: N,
      run: (n) =>
        Effect.runPromise(
          Stream.runDrain(
            Ordered.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY, window: 3 * CONCURRENCY })
          )
        )
    },
    {
      name: "design sketch: Effect.forEach + Ref window + Queue",
      n: N,
      run: (n) => Effect.runPromise(sketch(n, effectOf))
    },
    {
      name: "Stream.mapEffect({ concurrency: 100 })",
      n: 20_000,
      run: (n) =>
        Effect.runPromise(
          Stream.runDrain(Stream.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY }))
        )
    },
    {
      name: "Effect.forEach({ concurrency: 100, discard: true })",
      n: N,
      run: (n) => Effect.runPromise(Effect.forEach(input(n), effectOf, { concurrency: CONCURRENCY, discard: true }))
    },
    {
      // No concurrency, no ordering: what Effect's runtime costs per action on
      // its own — for promise actions, the floor under every Effect operator.
      name: "Effect.forEach, one at a time (Effect's own cost per action)",
      n: N,
      run: (n) => Effect.runPromise(Effect.forEach(input(n), effectOf, { discard: true }))
    },
    {
      name: "p-map pMapIterable({ concurrency: 100, backpressure: 400 })",
      n: N,
      run: async (n) => {
        for await (const _ of pMapIterable(input(n), asyncOf, { concurrency: CONCURRENCY, backpressure: 400 })) {
          // drain
        }
      }
    },
    {
      name: "Node Readable.map({ concurrency: 100 })",
      n: N,
      run: async (n) => {
        for await (const _ of Readable.from(input(n)).map(asyncOf, { concurrency: CONCURRENCY })) {
          // drain
        }
      }
    },
    // The cost of observability: the first Ordered.mapEffect row has no `name` (nothing recorded).
    {
      name: "Ordered.mapEffect, name set, tracing off (metrics only)",
      n: N,
      run: (n) =>
        Effect.runPromise(
          Stream.runDrain(
            Ordered.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY, name: "bench" })
          ).pipe(Effect.withTracerEnabled(false))
        )
    },
    {
      name: "Ordered.mapEffect, name set (metrics and a span per action, Effect's default tracer)",
      n: N,
      run: (n) =>
        Effect.runPromise(
          Stream.runDrain(
            Ordered.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY, name: "bench" })
          )
        )
    }
  ]
}

const ROUNDS = 5

/** CPU time this process has used (user and system, every thread: GC helpers too), in seconds. */
const cpuSeconds = (): number => {
  const { system, user } = process.cpuUsage()
  return (user + system) / 1e6
}

/**
 * Elements per CPU second of each contender: the best of `ROUNDS` timed
 * runs, after one warm-up. CPU time, not wall time: on a machine shared with
 * other work, wall time counts the time the process waited for a core, which
 * depends on the others' load, not on the contender. Rounds are interleaved
 * — every contender once per round, in a rotating order — so that what
 * load still changes (caches, frequency) hits them all alike instead of one.
 */
const rates = async (list: ReadonlyArray<Contender>): Promise<Array<number>> => {
  for (const contender of list) {
    input(contender.n)
    await contender.run(Math.min(contender.n, 20_000))
  }
  const best = list.map(() => 0)
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one contender later: the first of a round runs after the last one's garbage, however much
    // `gc()` collects (window "auto" against a fixed window on instant actions was 0.83x from its place alone).
    for (let k = 0; k < list.length; k++) {
      const i = (k + round) % list.length
      const contender = list[i]
      gc()
      const start = cpuSeconds()
      await contender.run(contender.n)
      best[i] = Math.max(best[i], contender.n / (cpuSeconds() - start))
    }
  }
  return best
}

const throughput = async (kind: "instant" | "promise"): Promise<ReadonlyArray<Check>> => {
  const list = contenders(kind)
  const measured = await rates(list)
  const [mapEffect, forEach, fixedWindow, , streamMapEffect, effectForEach, floor, pMap, , metricsOnly, metricsAndSpans] =
    measured
  printTable(
    `CPU cost on effect ${runtime.line}, ${kind === "instant" ? "actions that succeed at once" : "actions that complete through a resolved promise"} (200,000 actions, concurrency ${CONCURRENCY}; best of ${ROUNDS} interleaved rounds)`,
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
  return [
    check(`${kind}: Ordered.mapEffect ≥ 50× Stream.mapEffect`, mapEffect / streamMapEffect >= 50, ratio(mapEffect, streamMapEffect)),
    check(`${kind}: Ordered.mapEffect ≥ 1.5× Effect.forEach`, mapEffect / effectForEach >= 1.5, ratio(mapEffect, effectForEach)),
    check(`${kind}: Ordered.mapEffect ≥ 0.8× pMapIterable`, mapEffect / pMap >= 0.8, ratio(mapEffect, pMap)),
    check(`${kind}: Ordered.forEach ≥ 1.5× Effect.forEach`, forEach / effectForEach >= 1.5, ratio(forEach, effectForEach)),
    // Effect's floor: what its runtime costs per action with one fiber and no ordering (issue #22).
    check(`${kind}: Ordered.forEach ≥ 0.75× Effect's floor`, forEach / floor >= 0.75, ratio(forEach, floor)),
    check(`${kind}: Ordered.mapEffect ≥ 0.75× Effect's floor`, mapEffect / floor >= 0.75, ratio(mapEffect, floor)),
    check(`${kind}: window auto ≥ 0.95× a fixed window`, mapEffect / fixedWindow >= 0.95, ratio(mapEffect, fixedWindow)),
    check(`${kind}: name set, metrics only ≥ 0.9× no name`, metricsOnly / mapEffect >= 0.9, ratio(metricsOnly, mapEffect)),
    check(`${kind}: name set, metrics and spans (reported)`, true, ratio(metricsAndSpans, mapEffect)),
    ...(runtime.line === 4 ? effect4Checks(kind, { mapEffect, forEach, effectForEach, floor, pMap }) : [])
  ].map((c) => runtime.line === 3 ? c : { ...c, name: `effect 4, ${c.name}` })
}

/** Issue #19's targets for effect 4, on top of the others. */
const effect4Checks = (
  kind: "instant" | "promise",
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

const keyMode = async (): Promise<ReadonlyArray<Check>> => {
  const f = (n: number) => Effect.succeed(n)
  const keyed = { key: (n: number) => n, order: "key" as const }
  const ordered = (options: Partial<Ordered.Options<number>>): Contender["run"] => (n) =>
    Effect.runPromise(Stream.runDrain(Ordered.mapEffect(Stream.range(0, n - 1), f, { concurrency: CONCURRENCY, ...options })))
  // 20,000 is the peer's size; 200,000 times the engine long enough to be stable.
  const list: ReadonlyArray<Contender> = [
    { name: "Ordered.mapEffect, no key", n: 200_000, run: ordered({}) },
    { name: "Ordered.mapEffect, key per action, order: \"key\"", n: 200_000, run: ordered(keyed) },
    { name: "Ordered.mapEffect, key per action, order: \"key\"", n: 20_000, run: ordered(keyed) },
    {
      name: "Stream.mapEffect({ key }) (Effect's groupByKey)",
      n: 20_000,
      run: (n) => Effect.runPromise(Stream.runDrain(Stream.mapEffect(Stream.range(0, n - 1), f, { key: (i: number) => i })))
    }
  ]
  const baseline = retained()
  const perSecond = await rates(list)
  const heap = Math.max(0, retained() - baseline)
  const rows = list.map(({ n, name }, i) => ({ name, n, perSecond: perSecond[i] }))
  const million = await heapProfile(1_000_000, { concurrency: CONCURRENCY, ...keyed })
  printTable(
    `Key mode: one distinct key per action (concurrency 100, key order; best of ${ROUNDS} interleaved rounds); heap retained after all of them: ${formatBytes(heap)}`,
    ["operator", "actions", "elements per CPU s", "retained heap growth"],
    [
      ...rows.map((r) => [r.name, r.n.toLocaleString("en-US"), formatRate(r.perSecond), ""]),
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

/** The CPU tables alone: what `npm run bench` also runs on effect 4 (`bench/effect4.ts`). */
export const runCpuBench = async (): Promise<ReadonlyArray<Check>> => [
  ...(await throughput("instant")),
  ...(await throughput("promise"))
]

export const runCoreBench = async (): Promise<ReadonlyArray<Check>> => [
  ...(await runCpuBench()),
  ...(await memory()),
  ...(await keyMode())
]
