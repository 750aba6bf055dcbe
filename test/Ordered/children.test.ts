import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Duration, Effect, Fiber, pipe, Ref, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { TestClock, fork, forkDaemon, yieldNow, poll } from "../utils/line.ts"

type Outcome = "completed" | "interrupted" | "running"

/**
 * Three actions over two workers: action 0 forks a child that needs 10 ms and
 * ends after 1 ms; action 2 then keeps the same worker busy for 50 ms
 * (action 1 holds the other worker for 100 ms). Returns what became of the
 * child when the run ended, and the run's results.
 */
const childOfAction0 = (
  run: (f: (n: number) => Effect.Effect<number>) => Effect.Effect<Iterable<number>, unknown>
) =>
  Effect.gen(function*() {
    const outcome = yield* Ref.make<Outcome>("running")
    const child = pipe(
      Effect.sleep("10 millis"),
      Effect.andThen(Ref.set(outcome, "completed")),
      Effect.onInterrupt(() => Ref.set(outcome, "interrupted"))
    )
    const f = (n: number) =>
      n === 0
        ? Effect.as(Effect.andThen(fork(child), Effect.sleep("1 millis")), n)
        : Effect.as(Effect.sleep(n === 1 ? "100 millis" : "50 millis"), n)
    const fiber = yield* fork(run(f))
    yield* TestClock.adjust("1 second")
    const results = Arr.fromIterable(yield* Fiber.join(fiber))
    return { results, child: yield* Ref.get(outcome) }
  })

describe("fibers forked by an action", () => {
  describe("Ordered.mapEffect: a child ends when its own action ends, as with Stream.mapEffect", () => {
    it.effect("even when the worker that ran the action stays busy", () =>
      Effect.gen(function*() {
        const ordered = yield* childOfAction0((f) =>
          Stream.runCollect(Ordered.mapEffect(Stream.make(0, 1, 2), f, { concurrency: 2 }))
        )
        const stream = yield* childOfAction0((f) =>
          Stream.runCollect(Stream.mapEffect(Stream.make(0, 1, 2), f, { concurrency: 2 }))
        )
        expect(stream.child).toBe("interrupted")
        expect(ordered.child).toBe("interrupted")
        expect(ordered.results).toEqual([0, 1, 2])
      }))

    it.effect("the action's result is emitted once its children have ended", () =>
      Effect.gen(function*() {
        const ended = yield* Ref.make<Array<number>>([])
        const results = yield* Stream.range(0, 9).pipe(
          Ordered.mapEffect(
            (n) =>
              Effect.gen(function*() {
                yield* fork(Effect.onInterrupt(Effect.never, () => Ref.update(ended, Arr.append(n))))
                yield* yieldNow
                // Every earlier action's children have ended before it was emitted.
                return (yield* Ref.get(ended)).length
              }),
            { concurrency: 1 }
          ),
          Stream.runCollect
        )
        expect([...results]).toEqual(Arr.range(0, 9))
        expect(yield* Ref.get(ended)).toEqual(Arr.range(0, 9))
      }))

    it.effect("a daemon fiber an action forks is not its child and keeps running", () =>
      Effect.gen(function*() {
        const done = yield* Ref.make(0)
        const daemons = yield* Stream.range(0, 4).pipe(
          Ordered.mapEffect(
            () => Effect.tap(forkDaemon(Effect.andThen(Effect.sleep("1 second"), Ref.update(done, (n) => n + 1))), () => yieldNow),
            { concurrency: 2 }
          ),
          Stream.runCollect
        )
        yield* TestClock.adjust("1 second")
        yield* Fiber.awaitAll(daemons)
        expect(yield* Ref.get(done)).toBe(5)
      }))
  })

  describe("Ordered.forEach: a child outlives the run, as with Effect.forEach", () => {
    it.effect("even when the worker that ran the action stops", () =>
      Effect.gen(function*() {
        const ordered = yield* childOfAction0((f) => Ordered.forEach([0, 1, 2], f, { concurrency: 2 }))
        const effect = yield* childOfAction0((f) => Effect.forEach([0, 1, 2], f, { concurrency: 2 }))
        expect(effect.child).toBe("completed")
        expect(ordered.child).toBe("completed")
        expect(ordered.results).toEqual([0, 1, 2])
      }))

    // Effect's own test (effect/test/Effect/traversing.test.ts), run on Ordered.forEach.
    it.effect("does not kill fiber when forked on the parent scope", () =>
      Effect.gen(function*() {
        const ref = yield* Ref.make(0)
        const fibers = yield* pipe(
          Arr.makeBy(100, (i) => i + 1),
          Ordered.forEach(() => pipe(Ref.update(ref, (_) => _ + 1), fork), { concurrency: 10 })
        )
        yield* pipe(fibers, Effect.forEach(Fiber.await))
        expect(yield* Ref.get(ref)).toBe(100)
      }))

    it.effect("a child still running when the run ends completes afterwards", () =>
      Effect.gen(function*() {
        const done = yield* Ref.make(0)
        const fibers = yield* Ordered.forEach(
          Arr.range(0, 9),
          () => fork(Effect.andThen(Effect.sleep(Duration.seconds(1)), Ref.update(done, (n) => n + 1))),
          { concurrency: 3, timeout: "1 minute" }
        )
        expect(fibers.every((fiber) => poll(fiber) === null)).toBe(true)
        yield* TestClock.adjust("1 second")
        yield* Fiber.awaitAll(fibers)
        expect(yield* Ref.get(done)).toBe(10)
      }))
  })
})
