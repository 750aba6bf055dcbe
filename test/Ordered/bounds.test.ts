import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { withFiber } from "../../src/internal/runtime.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { WorkerPool } from "../../src/internal/workerPool.ts"
import { makeGauge, makeKeyedGauge } from "../utils/gauge.ts"
import { uniformLatencies } from "../utils/latency.ts"
import { forkObserved, nextMacrotask } from "../utils/settled.ts"
import { TestClock, fork, countingFibers, forkTestClockWarning } from "../utils/line.ts"

describe("bounds", () => {
  it.effect("never runs more than `concurrency` actions, and reaches it when work allows", () =>
    Effect.gen(function*() {
      const gauge = makeGauge()
      const latencies = uniformLatencies(300, 50, 5)
      const fiber = yield* Stream.range(0, 299).pipe(
        Ordered.mapEffect((n) => gauge.track(Effect.sleep(Duration.millis(latencies[n] + 1))), {
          concurrency: 10,
          window: 50
        }),
        Stream.runDrain,
        fork
      )
      yield* TestClock.adjust(Duration.hours(1))
      yield* Fiber.join(fiber)
      expect(gauge.peak()).toBe(10)
      expect(gauge.current()).toBe(0)
    }))

  it.effect("with a stalled head, takes at most `window` actions from upstream", () =>
    Effect.gen(function*() {
      const head = yield* Deferred.make<void>()
      let pulled = 0
      let started = 0
      const { fiber, settled } = yield* Stream.range(0, 99_999).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sync(() => pulled++)),
        Ordered.mapEffect(
          (n) => Effect.andThen(Effect.sync(() => started++), n === 0 ? Deferred.await(head) : Effect.void),
          { concurrency: 4, window: 25 }
        ),
        Stream.runDrain,
        forkObserved
      )
      // Nothing more can happen without the head.
      yield* settled
      expect(started).toBe(25)
      // One element more may sit in upstream's own pull, never the stream.
      expect(pulled).toBeLessThanOrEqual(26)
      yield* Deferred.succeed(head, undefined)
      yield* Fiber.join(fiber)
      expect(started).toBe(100_000)
    }))

  it.effect("actions waiting for their key count against the window", () =>
    Effect.gen(function*() {
      const head = yield* Deferred.make<void>()
      let started = 0
      // Every action has key "k": one runs (stalled), the rest wait for the key.
      const { fiber, settled } = yield* Ordered.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (n) => Effect.andThen(Effect.sync(() => started++), n === 0 ? Deferred.await(head) : Effect.void),
        { concurrency: 4, window: 10, key: () => "k" }
      ).pipe(forkObserved)
      yield* settled
      expect(started).toBe(1)
      yield* Deferred.succeed(head, undefined)
      expect(yield* Fiber.join(fiber)).toHaveLength(100)
      expect(started).toBe(100)
    }))

  it.effect("never runs more than `keyConcurrency` actions of one key; other keys go on", () =>
    Effect.gen(function*() {
      const perKey = makeKeyedGauge()
      const total = makeGauge()
      const latencies = uniformLatencies(240, 30, 9)
      const fiber = yield* Ordered.forEach(
        Array.from({ length: 240 }, (_, n) => n),
        (n) => total.track(perKey.track(n % 6, Effect.sleep(Duration.millis(latencies[n] + 1)))),
        { concurrency: 12, window: 60, key: (n) => n % 6, keyConcurrency: 2, order: "key" }
      ).pipe(fork)
      yield* TestClock.adjust(Duration.hours(1))
      yield* Fiber.join(fiber)
      expect(perKey.peak()).toBe(2)
      expect(total.peak()).toBe(12)
    }))

  it.effect("a stalled key does not stall other keys beyond the window", () =>
    Effect.gen(function*() {
      const stall = yield* Deferred.make<void>()
      const emitted: Array<number> = []
      const { fiber, settled } = yield* Stream.range(0, 199).pipe(
        Ordered.mapEffect((n) => n === 0 ? Effect.as(Deferred.await(stall), n) : Effect.succeed(n), {
          concurrency: 4,
          window: 20,
          key: (n) => n % 2,
          order: "key"
        }),
        Stream.runForEach((n) => Effect.sync(() => emitted.push(n))),
        forkObserved
      )
      yield* settled
      // Key 0 is stuck behind action 0; key 1 flows until key 0's waiting
      // actions fill the window: 0, 2, …, 38 (20 of them) held, 1, 3, …, 37 out.
      expect(emitted).toEqual(Array.from({ length: 19 }, (_, i) => 2 * i + 1))
      yield* Deferred.succeed(stall, undefined)
      yield* Fiber.join(fiber)
      expect(emitted).toHaveLength(200)
    }))

  it("regression: a key freed by one action passes to its next waiting action, not to one admitted meanwhile", () => {
    // Found by the properties test (in virtual time): the freed key slot was
    // briefly free, so a newly admitted action of the same key started next
    // to the waiting one.
    const perKey = makeKeyedGauge()
    const started: Array<number> = []
    const latencies = [1, 1, 0, 0, 0, 1, 0]
    const { exit } = runVirtual(Ordered.forEach(
      latencies.map((_, n) => n),
      (n) =>
        Effect.andThen(
          Effect.sync(() => started.push(n)),
          perKey.track(n % 3, Effect.as(Effect.sleep(Duration.millis(latencies[n])), n))
        ),
      { concurrency: 3, window: Infinity, key: (n) => n % 3 }
    ))
    expect(exit).toEqual(Exit.succeed([0, 1, 2, 3, 4, 5, 6]))
    expect(perKey.peak()).toBe(1)
    for (const key of [0, 1, 2]) {
      const ofKey = started.filter((n) => n % 3 === key)
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b))
    }
  })

  it.effect("recruits workers as work appears: a huge concurrency over three actions forks a few fibers", () =>
    Effect.gen(function*() {
      // Was: the pool forked `concurrency` workers up front; 2^32 died with RangeError.
      yield* forkTestClockWarning
      const [counted, fibers] = countingFibers(
        Ordered.forEach([1, 2, 3], (n) => Effect.as(Effect.sleep("1 millis"), n), { concurrency: 2 ** 32 })
      )
      const out = yield* counted.pipe(fork, Effect.tap(() => TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      expect(out).toEqual([1, 2, 3])
      // Three workers, and the fiber that recruits them on the next turn after an action waits.
      expect(fibers.started()).toBeLessThanOrEqual(5)
    }))

  it.effect("concurrency \"unbounded\" over actions that never suspend forks no fiber per action", () =>
    Effect.gen(function*() {
      const gauge = makeGauge()
      const [counted, fibers] = countingFibers(
        Ordered.forEach(Array.from({ length: 500 }, (_, i) => i), (n) => gauge.track(Effect.sync(() => n * 2)), {
          concurrency: "unbounded"
        })
      )
      const out = yield* counted
      expect(out).toEqual(Array.from({ length: 500 }, (_, i) => i * 2))
      expect(gauge.peak()).toBe(1)
      // One worker; was one per action on effect 4, each forked at once and started to find the actions done.
      expect(fibers.started()).toBeLessThanOrEqual(2)
    }))

  it.effect("actions that complete through a promise already resolved run on one worker, in order", () =>
    Effect.gen(function*() {
      const inputs = Array.from({ length: 2_000 }, (_, i) => i)
      const gauge = makeGauge()
      const f = (n: number) => gauge.track(Effect.promise(() => Promise.resolve(n)))
      expect(yield* Ordered.forEach(inputs, f, { concurrency: 100 })).toEqual(inputs)
      // Each resumes its worker before the others it would have recruited start (effect 4) or are recruited (effect 3).
      expect(gauge.peak()).toBe(1)
      const chunks = Array.from(
        yield* Stream.runCollect(Stream.chunks(Ordered.mapEffect(Stream.fromIterable(inputs), f, { concurrency: 100 })))
      ).map((chunk) => Array.from(chunk))
      expect(chunks.flat()).toEqual(inputs)
      expect(gauge.peak()).toBe(1)
      // The consumer is woken once the promise callbacks have run, or as the window runs short: a chunk each time.
      expect(chunks.length).toBeLessThanOrEqual(inputs.length / 100)
    }))

  it.effect("with an unbounded window, the consumer takes results as `concurrency` of them wait, not at upstream's end", () =>
    Effect.gen(function*() {
      const inputs = Array.from({ length: 20_000 }, (_, i) => i)
      const chunks = Array.from(
        yield* Stream.fromIterable(inputs).pipe(
          Ordered.mapEffect((n) => Effect.promise(() => Promise.resolve(n)), { concurrency: 100, window: Infinity }),
          Stream.chunks,
          Stream.runCollect
        )
      ).map((chunk) => Array.from(chunk))
      expect(chunks.flat()).toEqual(inputs)
      // Was, on both lines: every result held until upstream ended, one worker's promise chain leaving no macrotask.
      expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(200)
    }))

  it.effect("a look's recruiter starts once, from whichever asker runs what asking returned", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = new WorkerPool<number, number, never>(4, undefined, () => undefined)
      pool.scope = yield* Effect.scope
      yield* withFiber((fiber) => Effect.sync(() => pool.started(fiber)))
      expect(pool.looks).toBe(true)
      const first = pool.askLook(undefined)
      expect(first).toBeDefined()
      // The first asker was stopped before it ran what it got: the next asker gets it again.
      expect(pool.askLook(undefined)).toBe(first)
      yield* first!
      expect(pool.askLook(undefined)).toBeUndefined()
    })))

  it.effect("the consumer asks for a look only while a worker waits on an attempt", () =>
    Effect.scoped(Effect.gen(function*() {
      let recruited = 0
      const pool = new WorkerPool<number, number, never>(4, undefined, () => {
        recruited++
        return undefined
      })
      pool.scope = yield* Effect.scope
      pool.spawned = 1
      const worker = yield* withFiber((fiber) => Effect.sync(() => pool.started(fiber)))
      // A worker that runs on (instant actions, or between two) takes the room itself.
      expect(pool.recruitForConsumer(1)).toBeUndefined()
      worker.awaiting = true
      const look = pool.recruitForConsumer(1)
      expect(look).toBeDefined()
      yield* look!
      // The look, on the next turn, finds the worker still waiting and recruits for the work.
      for (let turn = 0; turn < 10 && recruited === 0; turn++) yield* nextMacrotask
      expect(recruited).toBe(1)
    })))

  // At 1: the look was asked for by action 0, which completed at once; the one that waits started after the ask.
  for (const waitingAt of [0, 1]) {
    it.effect(`an action that still waits once the promise callbacks have run gets the others recruited (action ${waitingAt})`, () =>
      Effect.gen(function*() {
        const head = yield* Deferred.make<void>()
        const gauge = makeGauge()
        let started = 0
        const { fiber, settled } = yield* Ordered.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (n) => {
            started++
            return gauge.track(n === waitingAt ? Deferred.await(head) : Effect.promise(() => Promise.resolve(n)))
          },
          { concurrency: 4, window: 25, discard: true }
        ).pipe(forkObserved)
        yield* settled
        // The waiting action's worker waits: the others take every action the window (25) admits from it on.
        expect(started).toBe(waitingAt + 25)
        expect(gauge.peak()).toBeGreaterThan(1)
        expect(gauge.peak()).toBeLessThanOrEqual(4)
        yield* Deferred.succeed(head, undefined)
        yield* Fiber.join(fiber)
        expect(started).toBe(200)
        expect(gauge.current()).toBe(0)
      }))
  }
})
