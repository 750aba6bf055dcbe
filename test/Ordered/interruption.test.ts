import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { TestClock, countingFibers, fork, settle } from "../utils/line.ts"

/** Runs `effect` with its fibers counted; returns how many fibers it forked and how many still run after. */
const runSupervised = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const [counted, fibers] = countingFibers(effect)
    const fiber = yield* fork(counted)
    yield* TestClock.adjust(Duration.hours(1))
    const exit = yield* Fiber.await(fiber)
    return { exit, running: fibers.running(), forked: fibers.started() }
  })

const counted = (interrupted: Ref.Ref<number>, finalized: Ref.Ref<number>, millis: number) =>
  Effect.sleep(Duration.millis(millis)).pipe(
    Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)),
    Effect.ensuring(Ref.update(finalized, (n) => n + 1))
  )

describe("early stop and interruption", () => {
  it.effect("Stream.take stops early: in-flight actions are interrupted, their finalizers run, no fiber is left", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const finalized = yield* Ref.make(0)
      const started = yield* Ref.make(0)
      const { exit, forked, running } = yield* runSupervised(
        Stream.range(0, 999).pipe(
          Ordered.mapEffect(
            (n) => Effect.andThen(Ref.update(started, (k) => k + 1), Effect.as(counted(interrupted, finalized, n === 0 ? 1 : 1000), n)),
            { concurrency: 8 }
          ),
          Stream.take(1),
          Stream.runCollect
        )
      )
      expect(exit._tag).toBe("Success")
      expect(exit._tag === "Success" && Array.from(exit.value)).toEqual([0])
      const startedCount = yield* Ref.get(started)
      // Every action that started either finished or was interrupted, and each ran its finalizer once.
      expect(yield* Ref.get(finalized)).toBe(startedCount)
      expect(yield* Ref.get(interrupted)).toBe(startedCount - 1)
      expect(forked).toBeGreaterThanOrEqual(8)
      expect(running).toBe(0)
    }))

  it.effect("interrupting the consumer interrupts every action in flight", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const finalized = yield* Ref.make(0)
      const fiber = yield* Stream.range(0, 99).pipe(
        Ordered.mapEffect(() => counted(interrupted, finalized, 10_000), { concurrency: 5 }),
        Stream.runDrain,
        fork
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(interrupted)).toBe(5)
      expect(yield* Ref.get(finalized)).toBe(5)
    }))

  it.effect("forEach interrupted: same guarantees", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const finalized = yield* Ref.make(0)
      const fiber = yield* Ordered.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (n) => counted(interrupted, finalized, n < 3 ? 1 : 10_000),
        { concurrency: 6, key: (n) => n % 4 }
      ).pipe(fork)
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      // 0–2 finished at 1 ms; keys 0–2 then started 4–6, key 3 still runs 3: four in flight.
      expect(yield* Ref.get(interrupted)).toBe(4)
      expect(yield* Ref.get(finalized)).toBe(7)
    }))

  it.effect("after a failure, no fiber of the library is left running", () =>
    Effect.gen(function*() {
      const { exit, running, forked } = yield* runSupervised(
        Ordered.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (n) => n === 10 ? Effect.fail("boom") : Effect.sleep(Duration.millis(n)),
          { concurrency: 10 }
        )
      )
      expect(exit._tag).toBe("Failure")
      expect(forked).toBeGreaterThanOrEqual(10)
      expect(running).toBe(0)
    }))

  it.effect("after success, no fiber of the library is left running", () =>
    Effect.gen(function*() {
      const { exit, forked, running } = yield* runSupervised(
        Stream.range(0, 99).pipe(
          Ordered.mapEffect((n) => Effect.as(Effect.sleep(Duration.millis(n % 7)), n), {
            concurrency: 10,
            key: (n) => n % 3,
            order: "key"
          }),
          Stream.runDrain
        )
      )
      expect(exit._tag).toBe("Success")
      expect(forked).toBeGreaterThanOrEqual(10)
      expect(running).toBe(0)
    }))

  it.effect("regression: forEach closes a lazy iterable it stops reading, as for…of does", () =>
    Effect.gen(function*() {
      // Found in review: a generator's finally never ran on failure or interruption.
      let closed = 0
      function* actions() {
        try {
          for (let i = 0; i < 1000; i++) yield i
        } finally {
          closed++
        }
      }
      const failed = yield* Effect.exit(
        Ordered.forEach(actions(), (n) => n === 5 ? Effect.fail("boom") : Effect.succeed(n), { concurrency: 2 })
      )
      expect(failed._tag).toBe("Failure")
      expect(closed).toBe(1)
      const fiber = yield* Ordered.forEach(actions(), () => Effect.never, { concurrency: 2 }).pipe(fork)
      // Interrupted once it has read from the iterable and waits on its actions (after one yield, on effect 4, it has not started)
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect(closed).toBe(2)
      expect(yield* Ordered.forEach(actions(), (n) => Effect.succeed(n), { concurrency: 2 })).toHaveLength(1000)
      expect(closed).toBe(3)
    }))
})
