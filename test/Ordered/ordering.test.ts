import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Fiber, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { uniformLatencies } from "../utils/latency.ts"
import { TestClock, fork, runForEachChunk, withMaxOpsBeforeYield } from "../utils/line.ts"

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

/** Runs `effect` forked and drives the TestClock until it is done. */
const runWithClock = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* fork(effect)
    yield* TestClock.adjust(Duration.hours(1))
    return yield* Fiber.join(fiber)
  })

const sleepThen = <A>(millis: number, value: A) => Effect.as(Effect.sleep(Duration.millis(millis)), value)

describe("order: total", () => {
  it.effect("emits every result in input order although actions finish out of order", () =>
    Effect.gen(function*() {
      const latencies = uniformLatencies(200, 100, 7)
      const finished: Array<number> = []
      const out = yield* runWithClock(
        Stream.range(0, 199).pipe(
          Ordered.mapEffect(
            (n) => Effect.tap(sleepThen(latencies[n], n * 10), () => Effect.sync(() => finished.push(n))),
            { concurrency: 16 }
          ),
          Stream.runCollect
        )
      )
      expect(Array.from(out)).toEqual(Array.from({ length: 200 }, (_, i) => i * 10))
      // The latencies really did scramble completion order.
      expect(finished).not.toEqual([...finished].sort((a, b) => a - b))
    }))

  it.effect("passes each input's position as `index`", () =>
    Effect.gen(function*() {
      const out = yield* Stream.make("a", "b", "c").pipe(
        Ordered.mapEffect((s, index) => Effect.succeed(`${index}:${s}`), { concurrency: 2 }),
        Stream.runCollect
      )
      expect(Array.from(out)).toEqual(["0:a", "1:b", "2:c"])
    }))

  it.effect("emits a result as soon as everything before it is emitted", () =>
    Effect.gen(function*() {
      const emittedAt: Array<[number, number]> = []
      const latencies = [10, 100, 5, 30]
      yield* runWithClock(
        Stream.fromIterable([0, 1, 2, 3]).pipe(
          Ordered.mapEffect((n) => sleepThen(latencies[n], n), { concurrency: 4 }),
          Stream.tap((n) => Effect.map(Clock.currentTimeMillis, (t) => emittedAt.push([n, t]))),
          Stream.runDrain
        )
      )
      // 0 leaves at 10 ms, not with the others; 1 (100 ms) releases 2 and 3 with it.
      expect(emittedAt).toEqual([[0, 10], [1, 100], [2, 100], [3, 100]])
    }))

  it.effect("results ready together leave as one chunk, a result ready alone leaves alone", () =>
    Effect.gen(function*() {
      const chunks: Array<ReadonlyArray<number>> = []
      const latencies = [10, 100, 5, 30]
      yield* runWithClock(
        Stream.fromIterable([0, 1, 2, 3]).pipe(
          Ordered.mapEffect((n) => sleepThen(latencies[n], n), { concurrency: 4 }),
          runForEachChunk((chunk) => Effect.sync(() => chunks.push(Array.from(chunk))))
        )
      )
      expect(chunks).toEqual([[0], [1, 2, 3]])
    }))

  it.effect("a consumer that keeps up takes results before the window fills, many at a time", () =>
    Effect.gen(function*() {
      // Promise actions complete a few at a time. Woken only once the window is
      // full, the consumer would leave the workers parked for room every
      // window's worth; woken for every result, it would take them one by one.
      const n = 6_000
      const sizes: Array<number> = []
      yield* Stream.range(0, n - 1).pipe(
        Ordered.mapEffect((i) => Effect.promise(() => Promise.resolve(i)), { concurrency: 100, window: 300 }),
        runForEachChunk((chunk) => Effect.sync(() => sizes.push(chunk.length)))
      )
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(n)
      expect(Math.max(...sizes)).toBeLessThan(300)
      expect(sizes.length).toBeLessThan(n / 10)
    }))

  it.live("no result and no end is lost when the consumer's fiber yields on its way to wait", () =>
    // A fiber yields after its budget of operations, wherever that falls: between the
    // consumer's last look at the results and its registration as waiting, a release or
    // the end found no one to wake. Small budgets put the yield in that gap for some runs.
    Effect.forEach(
      [16, 23, 37].flatMap((ops) =>
        (["promise", "instant"] as const).flatMap((kind) =>
          [{ concurrency: 4, window: 12 }, { concurrency: 2, window: 2 }, { concurrency: 8 }].flatMap((options) =>
            [1, 2, 5, 50].map((n) => ({ ops, kind, options, n }))
          )
        )
      ),
      ({ kind, n, ops, options }) =>
        Stream.range(0, n - 1).pipe(
          Ordered.mapEffect((i) => kind === "promise" ? Effect.promise(() => Promise.resolve(i)) : Effect.succeed(i), options),
          Stream.runCollect,
          withMaxOpsBeforeYield(ops),
          Effect.timeout(Duration.seconds(5)),
          Effect.map((out) => expect([ops, kind, options, Array.from(out)]).toEqual([ops, kind, options, range(n)]))
        ),
      { discard: true }
    ))

  it.live("promise actions with unbounded concurrency and a bounded window all reach the consumer", () =>
    Effect.gen(function*() {
      // On effect 4 this run never ended while a waiting consumer was woken only on the
      // scheduler's turn, which comes after every promise callback has run.
      const out = yield* Stream.range(0, 2_999).pipe(
        Ordered.mapEffect((i) => Effect.promise(() => Promise.resolve(i)), { concurrency: "unbounded", window: 1_000 }),
        Stream.runCollect,
        Effect.timeout(Duration.seconds(10))
      )
      expect(Array.from(out)).toEqual(range(3_000))
    }))

  it.effect("works on an empty stream and on a single element", () =>
    Effect.gen(function*() {
      const empty = yield* Stream.empty.pipe(
        Ordered.mapEffect((n: number) => Effect.succeed(n), { concurrency: 3 }),
        Stream.runCollect
      )
      expect(Chunk.size(empty)).toBe(0)
      const one = yield* Ordered.forEach([41], (n) => Effect.succeed(n + 1), { concurrency: 3 })
      expect(one).toEqual([42])
    }))

  it.effect("is data-first and data-last", () =>
    Effect.gen(function*() {
      const f = (n: number) => Effect.succeed(n * 2)
      const first = yield* Stream.runCollect(Ordered.mapEffect(Stream.make(1, 2, 3), f, { concurrency: 2 }))
      const last = yield* Stream.runCollect(Stream.make(1, 2, 3).pipe(Ordered.mapEffect(f, { concurrency: 2 })))
      expect(Array.from(first)).toEqual([2, 4, 6])
      expect(Array.from(last)).toEqual([2, 4, 6])
      const each = yield* Ordered.forEach([1, 2, 3], f, { concurrency: 2 })
      const eachLast = yield* Ordered.forEach(f, { concurrency: 2 })([1, 2, 3])
      expect(each).toEqual([2, 4, 6])
      expect(eachLast).toEqual([2, 4, 6])
    }))

  it.effect("reads a stream in many small chunks and a lazy iterable", () =>
    Effect.gen(function*() {
      const out = yield* Stream.range(0, 999).pipe(
        Stream.rechunk(1),
        Ordered.mapEffect((n) => Effect.succeed(-n), { concurrency: 7, window: 9 }),
        Stream.runCollect
      )
      expect(Array.from(out)).toEqual(Array.from({ length: 1000 }, (_, i) => -i))
      function* naturals() {
        for (let i = 0; i < 1000; i++) yield i
      }
      const each = yield* Ordered.forEach(naturals(), (n) => Effect.succeed(n + 1), { concurrency: 5 })
      expect(each).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
    }))

  it.effect("emits thirty thousand one-result chunks, in order, without growing a stack", () =>
    Effect.gen(function*() {
      // window: 1 hands every result over alone: one chunk of the output stream per action.
      let chunks = 0
      let next = 0
      yield* Stream.range(0, 29_999).pipe(
        Ordered.mapEffect((n) => Effect.succeed(n), { concurrency: 1, window: 1 }),
        runForEachChunk((chunk) =>
          Effect.sync(() => {
            chunks++
            for (const n of chunk) expect(n).toBe(next++)
          })
        )
      )
      expect(next).toBe(30_000)
      expect(chunks).toBe(30_000)
    }))

  it.effect("hands over what a worker released before it waits on a slow action, while that action runs", () =>
    Effect.gen(function*() {
      const received: Array<number> = []
      // One worker: 0 and 1 succeed at once and leave in order, then it waits an hour on 2.
      const fiber = yield* fork(
        Stream.range(0, 2).pipe(
          Ordered.mapEffect((n) => n < 2 ? Effect.succeed(n) : sleepThen(3_600_000, n), { concurrency: 1 }),
          Stream.runForEach((n) => Effect.sync(() => received.push(n)))
        )
      )
      yield* TestClock.adjust(Duration.minutes(1))
      expect(received).toEqual([0, 1])
      yield* TestClock.adjust(Duration.hours(1))
      yield* Fiber.join(fiber)
      expect(received).toEqual([0, 1, 2])
    }))
})

describe("order: key", () => {
  it.effect("keeps input order within each key and lets keys overtake each other", () =>
    Effect.gen(function*() {
      // key a is slow, key b is fast: b's results leave before a's.
      const inputs = [
        { key: "a", n: 0, ms: 50 },
        { key: "b", n: 1, ms: 5 },
        { key: "a", n: 2, ms: 10 },
        { key: "b", n: 3, ms: 5 }
      ]
      const out = yield* runWithClock(
        Ordered.forEach(inputs, (x) => sleepThen(x.ms, `${x.key}${x.n}`), {
          concurrency: 4,
          key: (x) => x.key,
          order: "key"
        })
      )
      expect(out).toEqual(["b1", "b3", "a0", "a2"])
    }))

  it.effect("runs same-key actions one after another in input order by default", () =>
    Effect.gen(function*() {
      const started: Array<number> = []
      const inputs = Array.from({ length: 12 }, (_, n) => ({ key: n % 3, n }))
      const latencies = uniformLatencies(12, 40, 3)
      yield* runWithClock(
        Ordered.forEach(
          inputs,
          (x) => Effect.andThen(Effect.sync(() => started.push(x.n)), Effect.sleep(Duration.millis(latencies[x.n]))),
          { concurrency: 12, key: (x) => x.key, order: "key" }
        )
      )
      for (const key of [0, 1, 2]) {
        const ofKey = started.filter((n) => n % 3 === key)
        expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b))
      }
    }))

  it.effect("with `order: \"total\"` a key only gates starts: output stays in input order", () =>
    Effect.gen(function*() {
      const latencies = uniformLatencies(60, 30, 11)
      const out = yield* runWithClock(
        Ordered.forEach(
          Array.from({ length: 60 }, (_, n) => n),
          (n) => sleepThen(latencies[n], n),
          { concurrency: 8, key: (n) => n % 5 }
        )
      )
      expect(out).toEqual(Array.from({ length: 60 }, (_, n) => n))
    }))
})

describe("order: none", () => {
  it.effect("emits in completion order, every input once", () =>
    Effect.gen(function*() {
      const latencies = [40, 10, 30, 20]
      const out = yield* runWithClock(
        Ordered.forEach([0, 1, 2, 3], (n) => sleepThen(latencies[n], n), { concurrency: 4, order: "none" })
      )
      expect(out).toEqual([1, 3, 2, 0])
    }))
})
