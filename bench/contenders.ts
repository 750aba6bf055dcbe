/**
 * The contenders of the CPU tables (`bench/core.ts`): what each row runs. Each
 * is timed in a process of its own (`bench/contender.ts`), so that the
 * parent only needs their names and sizes from here.
 */
import { Effect, Fiber, Queue, Ref, Stream } from "effect"
import { pMapIterable } from "p-map"
import { Readable } from "node:stream"
import { Ordered } from "../src/index.ts"
import * as runtime from "./line.ts"

export const CONCURRENCY = 100

export interface Contender {
  readonly name: string
  /** How many actions to time (slow peers get fewer; the rate is what counts). */
  readonly n: number
  readonly run: (n: number) => Promise<unknown>
}

export const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

/**
 * The inputs of the timed runs, built once outside the timing: building a
 * 200,000-element array costs as much as a tenth of the floor's own run, and
 * would shrink every ratio towards 1.
 */
const inputs = new Map<number, ReadonlyArray<number>>()
export const input = (n: number): ReadonlyArray<number> => {
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

/**
 * A reference for actions that suspend their fiber (promise actions): a
 * hundred fibers, each taking the next action from a shared counter, no order
 * kept, no window — what running that many at once costs before any
 * ordering. On effect 3 it costs more per action than one fiber does
 * (Effect's floor), which bounds what a hundred workers can reach there.
 * (Instant actions the engine runs without the runtime; there it bounds
 * nothing.)
 */
const sharedCounter = (n: number, effectOf: (n: number) => Effect.Effect<number>) =>
  Effect.suspend(() => {
    const items = input(n)
    let next = 0
    const worker = Effect.whileLoop({ while: () => next < n, body: () => effectOf(items[next++]), step: () => {} })
    return Effect.forEach(range(CONCURRENCY), () => worker, { concurrency: CONCURRENCY, discard: true })
  })

/** The actions of a throughput table: they succeed at once, or complete through a resolved promise. */
export type Kind = "instant" | "promise"

export const isKind = (table: string): table is Kind => table === "instant" || table === "promise"

/** What a throughput table's actions do, as its titles say it. */
export const describeKind = (kind: Kind): string =>
  kind === "instant" ? "actions that succeed at once" : "actions that complete through a resolved promise"

const actionOf = (kind: Kind): (n: number) => Effect.Effect<number> =>
  kind === "instant" ? (n) => Effect.succeed(n) : (n) => Effect.promise(() => Promise.resolve(n))

/**
 * Other Effect code, run before a row is timed, three times: a concurrent
 * Stream.mapEffect of 2,000 of the table's actions, then a plain
 * Stream.runDrain of 2,000 numbers. Effect's runtime is the same code for
 * every fiber; in a process that has only run one loop, V8 has shaped its
 * inline caches and inlining for that loop's few effects, a best case that
 * the first Stream ends for good (docs/benchmarks.md). Both, because the
 * lines lose it to different code: effect 3's floor mostly to the concurrent
 * stream, effect 4's more to the plain one (its drain loops on the
 * `Effect.whileLoop` that the floor's `Effect.forEach` loops on).
 * None of the engine's or the peers' code; it shares Stream.fromIterable and
 * Stream.runDrain with the Ordered.mapEffect rows.
 */
export const prelude = async (kind: Kind): Promise<void> => {
  const effectOf = actionOf(kind)
  for (let run = 0; run < 3; run++) {
    const actions = Stream.mapEffect(Stream.fromIterable(input(2_000)), effectOf, { concurrency: CONCURRENCY })
    await Effect.runPromise(Stream.runDrain(actions))
    await Effect.runPromise(Stream.runDrain(Stream.fromIterable(input(2_000))))
  }
}

/** The throughput tables' rows by name: their places in `throughputContenders` (the last on promise actions only). */
export const ROW = {
  mapEffect: 0,
  forEach: 1,
  fixedWindow: 2,
  sketch: 3,
  streamMapEffect: 4,
  effectForEach: 5,
  floor: 6,
  pMap: 7,
  readableMap: 8,
  metricsOnly: 9,
  metricsAndSpans: 10,
  timeout: 11,
  fibers: 12,
  oneWorker: 13
} as const

/** A throughput table's values (one per row, in `ROW`'s places), by row name. */
export const byRow = <T>(values: ReadonlyArray<T>): { readonly [row in keyof typeof ROW]: T } =>
  Object.fromEntries(Object.entries(ROW).map(([row, index]) => [row, values[index]])) as { [row in keyof typeof ROW]: T }

/** The throughput tables' rows, in `ROW`'s places. */
const throughputContenders = (kind: Kind): ReadonlyArray<Contender> => {
  const effectOf = actionOf(kind)
  const asyncOf = kind === "instant" ? (n: number) => n : (n: number) => Promise.resolve(n)
  const ordered = (n: number, options?: Partial<Ordered.Options<number>>) =>
    Stream.runDrain(Ordered.mapEffect(Stream.fromIterable(input(n)), effectOf, { concurrency: CONCURRENCY, ...options }))
  const N = 200_000
  return [
    {
      name: "Ordered.mapEffect (Stream in, Stream out)",
      n: N,
      run: (n) => Effect.runPromise(ordered(n))
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
      run: (n) => Effect.runPromise(ordered(n, { window: 3 * CONCURRENCY }))
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
      run: (n) => Effect.runPromise(ordered(n, { name: "bench" }).pipe(Effect.withTracerEnabled(false)))
    },
    {
      name: "Ordered.mapEffect, name set (metrics and a span per action, Effect's default tracer)",
      n: N,
      run: (n) => Effect.runPromise(ordered(n, { name: "bench" }))
    },
    // `timeout` watches each action that goes through the runtime (none of the instant ones).
    {
      name: "Ordered.mapEffect, timeout: \"1 minute\"",
      n: N,
      run: (n) => Effect.runPromise(ordered(n, { timeout: "1 minute" }))
    },
    {
      name: "reference: 100 fibers sharing a counter, no order kept",
      n: N,
      run: (n) => Effect.runPromise(sharedCounter(n, effectOf))
    },
    // Promise actions: the engine's own cost per action, without a hundred fibers' (issue #22).
    ...(kind === "promise"
      ? [{
        name: "reference: Ordered.forEach({ concurrency: 1, discard: true }), one worker",
        n: N,
        run: (n: number) => Effect.runPromise(Ordered.forEach(input(n), effectOf, { concurrency: 1, discard: true }))
      }]
      : [])
  ]
}

const f = (n: number) => Effect.succeed(n)
export const keyed = { key: (n: number) => n, order: "key" as const }
const orderedRange = (options: Partial<Ordered.Options<number>>): Contender["run"] => (n) =>
  Effect.runPromise(Stream.runDrain(Ordered.mapEffect(Stream.range(0, n - 1), f, { concurrency: CONCURRENCY, ...options })))

/** Key mode's rows, one distinct key per action, in the order `keyMode` (bench/core.ts) reads them back. */
const keyContenders: ReadonlyArray<Contender> = [
  // 20,000 is the peer's size; 200,000 times the engine long enough to be stable.
  { name: "Ordered.mapEffect, no key", n: 200_000, run: orderedRange({}) },
  { name: "Ordered.mapEffect, key per action, order: \"key\"", n: 200_000, run: orderedRange(keyed) },
  { name: "Ordered.mapEffect, key per action, order: \"key\"", n: 20_000, run: orderedRange(keyed) },
  {
    name: "Stream.mapEffect({ key }) (Effect's groupByKey)",
    n: 20_000,
    run: (n) => Effect.runPromise(Stream.runDrain(Stream.mapEffect(Stream.range(0, n - 1), f, { key: (i: number) => i })))
  }
]

/** Every CPU table, by the name a child process is given (`bench/contender.ts`, `bench/counted.ts`). */
export const tables = {
  instant: throughputContenders("instant"),
  promise: throughputContenders("promise"),
  keys: keyContenders
} as const

export type Table = keyof typeof tables

/**
 * The row a child's command line names, `<table> <index> [prelude]`
 * (`bench/contender.ts`, `bench/counted.ts`): `prelude` only after a
 * throughput table's row. A bad line is refused with what it got.
 */
export const rowOf = (args: ReadonlyArray<string>): {
  readonly table: Table
  readonly index: number
  readonly preludeKind: Kind | undefined
} => {
  const [table, index, preludeArgument] = args
  if (!Object.hasOwn(tables, table) || !/^\d+$/.test(index ?? "") || tables[table as Table][Number(index)] === undefined) {
    throw new Error(`Expected a table (${Object.keys(tables).join(", ")}) and a row index, got ${JSON.stringify([table, index])}`)
  }
  if (preludeArgument === undefined) return { table: table as Table, index: Number(index), preludeKind: undefined }
  // The bench asks for it on the promise table; either throughput table takes it, for runs by hand.
  if (preludeArgument !== "prelude" || !isKind(table) || args.length > 3) {
    throw new Error(`Expected \`prelude\` after a throughput table's row, got ${JSON.stringify(args)}`)
  }
  return { table, index: Number(index), preludeKind: table }
}
