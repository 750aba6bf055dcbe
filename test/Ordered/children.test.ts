import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Duration, Effect, Exit, Fiber, pipe, Ref, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { TestClock, fork, forkDaemon, isInterrupted, line, poll, yieldNow } from "../utils/line.ts"

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

    // Effect 3 files a fork among its fiber's children as that fiber runs its next operation: here, the step
    // that hands the action's value to the worker loop.
    it.effect("a child forked by the action's last operation has ended when the action's result is emitted", () =>
      Effect.gen(function*() {
        const whenEmitted = yield* Stream.range(0, 9).pipe(
          Ordered.mapEffect(() => fork(Effect.never), { concurrency: 2 }),
          Stream.map((child) => { const exit = poll(child); return exit !== null && isInterrupted(exit) }),
          Stream.runCollect
        )
        expect([...whenEmitted]).toEqual(Arr.makeBy(10, () => true))
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

  /**
   * Effect.forEach's rule, which Ordered.forEach follows, differs per line (docs/ordered.md § "Both Effect lines"):
   * on effect 3 a fiber an action forks outlives the action and the run; on effect 4 the concurrent
   * `Effect.forEach` interrupts it when its action ends. Each test runs both operators and expects the line's rule.
   */
  const outlives = line === 3
  type ForEach = <A, B>(
    items: ReadonlyArray<A>,
    f: (a: A) => Effect.Effect<B>,
    options: { readonly concurrency: number; readonly timeout?: "1 minute" }
  ) => Effect.Effect<Array<B>>
  const operators: ReadonlyArray<readonly [string, ForEach]> = [
    ["Ordered.forEach", (items, f, options) => Ordered.forEach(items, f, options) as Effect.Effect<Array<never>>],
    ["Effect.forEach", (items, f, { concurrency }) => Effect.forEach(items, f, { concurrency })]
  ]

  describe(`Ordered.forEach: a child ${outlives ? "outlives the run" : "ends with its action"}, as with Effect.forEach`, () => {
    it.effect("even when the worker that ran the action stops", () =>
      Effect.gen(function*() {
        const ordered = yield* childOfAction0((f) => Ordered.forEach([0, 1, 2], f, { concurrency: 2 }))
        const effect = yield* childOfAction0((f) => Effect.forEach([0, 1, 2], f, { concurrency: 2 }))
        const expected = outlives ? "completed" : "interrupted"
        expect(effect.child).toBe(expected)
        expect(ordered.child).toBe(expected)
        expect(ordered.results).toEqual([0, 1, 2])
      }))

    // Effect's own test (effect/test/Effect/traversing.test.ts, effect 3), run on Ordered.forEach.
    for (const [name, forEach] of operators) {
      it.effect(`${name}: a fiber forked on the parent scope is ${outlives ? "not killed" : "interrupted with its action"}`, () =>
        Effect.gen(function*() {
          const ref = yield* Ref.make(0)
          const fibers = yield* forEach(
            Arr.makeBy(100, (i) => i + 1),
            () => pipe(Ref.update(ref, (_) => _ + 1), fork),
            { concurrency: 10 }
          )
          const exits = yield* pipe(fibers, Effect.forEach(Fiber.await))
          if (outlives) {
            expect(exits.every(Exit.isSuccess)).toBe(true)
            expect(yield* Ref.get(ref)).toBe(100)
          } else {
            // interrupted before it first ran: a forked fiber starts on the scheduler's next turn
            expect(exits.every(isInterrupted)).toBe(true)
            expect(yield* Ref.get(ref)).toBe(0)
          }
        }))

      it.effect(`${name}: a child still running when its action ends ${outlives ? "completes after the run" : "is interrupted"}`, () =>
        Effect.gen(function*() {
          const done = yield* Ref.make(0)
          const fibers = yield* forEach(
            Arr.range(0, 9),
            () => fork(Effect.andThen(Effect.sleep(Duration.seconds(1)), Ref.update(done, (n) => n + 1))),
            { concurrency: 3, timeout: "1 minute" }
          )
          expect(fibers.every((fiber) => poll(fiber) === null)).toBe(outlives)
          yield* TestClock.adjust("1 second")
          const exits = yield* Fiber.awaitAll(fibers)
          expect(exits.every(outlives ? Exit.isSuccess : isInterrupted)).toBe(true)
          expect(yield* Ref.get(done)).toBe(outlives ? 10 : 0)
        }))
    }
  })

  describe("an action that times out", () => {
    // Its worker is interrupted (docs/ordered.md § Design): what the action forked follows the operator's rule all the same.
    const timesOut = (run: (f: () => Effect.Effect<never>) => Effect.Effect<unknown, unknown>) =>
      Effect.gen(function*() {
        let child: Fiber.RuntimeFiber<void> | undefined
        const fiber = yield* fork(
          run(() =>
            Effect.andThen(
              Effect.tap(fork(Effect.sleep(Duration.hours(1))), (forked) => {
                child = forked
              }),
              Effect.never
            )
          ).pipe(Effect.exit, Effect.map((exit) => ({ exit, childAtFailure: poll(child!) })))
        )
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      })

    it.effect("Ordered.mapEffect: its child has ended when its ActionTimeoutError reaches the stream", () =>
      Effect.gen(function*() {
        const { childAtFailure, exit } = yield* timesOut((f) =>
          Stream.runDrain(Ordered.mapEffect(Stream.make(0), f, { concurrency: 1, timeout: "1 second" }))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(childAtFailure !== null && childAtFailure !== undefined && isInterrupted(childAtFailure)).toBe(true)
      }))

    it.effect(`Ordered.forEach: its child ${outlives ? "outlives the run" : "has ended when the run fails"}, as with Effect.forEach`, () =>
      Effect.gen(function*() {
        const { childAtFailure, exit } = yield* timesOut((f) => Ordered.forEach([0], f, { concurrency: 1, timeout: "1 second" }))
        expect(Exit.isFailure(exit)).toBe(true)
        if (outlives) expect(childAtFailure).toBeNull()
        else expect(childAtFailure !== null && childAtFailure !== undefined && isInterrupted(childAtFailure)).toBe(true)
      }))
  })
})
