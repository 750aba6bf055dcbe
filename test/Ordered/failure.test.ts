import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Duration, Effect, Exit, Fiber, Option, Ref, Stream } from "effect"
import { ActionTimeoutError, Ordered } from "../../src/index.ts"
import { TestClock, countingFibers, defectOf, failureOf, fork, streamOutcome } from "../utils/line.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

const drive = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* fork(effect)
    yield* TestClock.adjust(Duration.hours(1))
    return yield* Fiber.await(fiber)
  })

/** Collects what a stream emitted before it ended, and how it ended. */
const collectUntilEnd = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function*() {
    const emitted: Array<A> = []
    const exit = yield* drive(Stream.runForEach(stream, (a) => Effect.sync(() => emitted.push(a))))
    return { emitted, exit }
  })

describe("failure, order: total", () => {
  it.effect("emits every result before the failing action, then fails with its error", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const started = yield* Ref.make<Array<number>>([])
      // Action 3 fails at 5 ms; 0–2 are slower (must still be awaited); 4–5 are in flight and slow.
      const latencies = [30, 20, 40, 5, 100, 100, 1, 1, 1, 1]
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.range(0, 9).pipe(
          Ordered.mapEffect(
            (n) =>
              Ref.update(started, (s) => [...s, n]).pipe(
                Effect.andThen(Effect.sleep(Duration.millis(latencies[n]))),
                Effect.andThen(n === 3 ? Effect.fail(new Boom({ n })) : Effect.succeed(n)),
                Effect.onInterrupt(() => Ref.update(interrupted, (k) => k + 1))
              ),
            { concurrency: 6 }
          )
        )
      )
      expect(emitted).toEqual([0, 1, 2])
      expect(exit).toEqual(Exit.fail(new Boom({ n: 3 })))
      // 4 and 5 were running when 3 failed: interrupted, finalizers ran.
      expect(yield* Ref.get(interrupted)).toBe(2)
      // Nothing started after the failure was known (at 5 ms only 0–5 had started).
      expect(yield* Ref.get(started)).toEqual([0, 1, 2, 3, 4, 5])
    }))

  it.effect("an earlier failure found later wins: the stream fails with the first failing action in order", () =>
    Effect.gen(function*() {
      const latencies = [50, 10, 30]
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0, 1, 2).pipe(
          Ordered.mapEffect(
            (n) => Effect.andThen(Effect.sleep(Duration.millis(latencies[n])), n === 0 ? Effect.succeed(n) : Effect.fail(new Boom({ n }))),
            { concurrency: 3 }
          )
        )
      )
      expect(emitted).toEqual([0])
      expect(exit).toEqual(Exit.fail(new Boom({ n: 1 })))
    }))

  it.effect("a defect (a throw inside f) behaves like a failure and keeps its cause", () =>
    Effect.gen(function*() {
      const error = new Error("thrown in f")
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0, 1, 2).pipe(
          Ordered.mapEffect((n) => {
            if (n === 1) throw error
            return Effect.succeed(n)
          }, { concurrency: 2 })
        )
      )
      expect(emitted).toEqual([0])
      expect(Exit.isFailure(exit) && defectOf(exit.cause)).toEqual(Option.some(error))
      const died = yield* drive(
        Ordered.forEach([0, 1], (n) => n === 1 ? Effect.die("defect") : Effect.succeed(n), { concurrency: 2 })
      )
      expect(Exit.isFailure(died) && defectOf(died.cause)).toEqual(Option.some("defect"))
    }))

  it.effect("a key function that throws fails the stream at that action's position, called once for it", () =>
    Effect.gen(function*() {
      const keyReads: Array<number> = []
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0, 1, 2).pipe(
          Ordered.mapEffect((n) => Effect.succeed(n), {
            concurrency: 2,
            key: (n) => {
              keyReads.push(n)
              if (n === 1) throw new Error("no key")
              return n
            }
          })
        )
      )
      expect(emitted).toEqual([0])
      expect(keyReads).toEqual([0, 1])
      expect(Exit.isFailure(exit) && Option.map(defectOf(exit.cause), (e) => (e as Error).message)).toEqual(
        Option.some("no key")
      )
    }))

  it.effect("a key function returning a bad key names it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Ordered.forEach([{ id: "" }], (x) => Effect.succeed(x), { concurrency: 1, key: (x) => x.id })
      )
      expect(Exit.isFailure(exit) && Option.map(defectOf(exit.cause), (e) => (e as Error).message)).toEqual(
        Option.some("Expected `options.key(input 0)` to be a non-empty string or a number, got `\"\"` (string)")
      )
    }))
})

describe("failure, order: key and none", () => {
  for (const order of ["key", "none"] as const) {
    it.effect(`order ${order}: emits what was released, interrupts what runs, fails with the first failure`, () =>
      Effect.gen(function*() {
        const interrupted = yield* Ref.make(0)
        const latencies = [5, 100, 10, 100]
        const { emitted, exit } = yield* collectUntilEnd(
          Stream.make(0, 1, 2, 3).pipe(
            Ordered.mapEffect(
              (n) =>
                Effect.sleep(Duration.millis(latencies[n])).pipe(
                  Effect.andThen(n === 2 ? Effect.fail(new Boom({ n })) : Effect.succeed(n)),
                  Effect.onInterrupt(() => Ref.update(interrupted, (k) => k + 1))
                ),
              { concurrency: 4, order, key: (n) => n }
            )
          )
        )
        expect(emitted).toEqual([0])
        expect(exit).toEqual(Exit.fail(new Boom({ n: 2 })))
        expect(yield* Ref.get(interrupted)).toBe(2)
      }))
  }
})

describe("upstream failure", () => {
  it.effect("interrupts in-flight actions, then propagates", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const { exit } = yield* collectUntilEnd(
        Stream.make(0, 1).pipe(
          Stream.concat(Stream.fail("upstream broke")),
          Ordered.mapEffect(
            (n) => Effect.onInterrupt(Effect.as(Effect.sleep("1 second"), n), () => Ref.update(interrupted, (k) => k + 1)),
            { concurrency: 4 }
          )
        )
      )
      expect(exit).toEqual(Exit.fail("upstream broke"))
      expect(yield* Ref.get(interrupted)).toBe(2)
    }))
  it.effect("regression: an upstream failure after an action's failure does not replace it (total order)", () =>
    Effect.gen(function*() {
      // Found in review: upstream failing while an earlier action still ran
      // aborted the run, interrupting action 0 and failing with upstream's error.
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0, 1).pipe(
          Stream.concat(Stream.fromEffect(Effect.andThen(Effect.sleep("20 millis"), Effect.fail("upstream")))),
          Ordered.mapEffect(
            (n) => n === 0 ? Effect.as(Effect.sleep("100 millis"), n) : Effect.andThen(Effect.sleep("10 millis"), Effect.fail(`action ${n}`)),
            { concurrency: 3 }
          )
        )
      )
      expect(emitted).toEqual([0])
      expect(exit).toEqual(Exit.fail("action 1"))
    }))

  it.effect("an action in flight when upstream fails is not emitted, even if it completes before the consumer runs", () =>
    Effect.gen(function*() {
      // Action 0 completes through a promise that upstream's failure itself resolves: its success comes
      // back after the failure ended the run, and must not be released (nothing else was admitted, so
      // action 0 is the only one in the window, with no record of its own until it needs one).
      let complete: (n: number) => void = () => {}
      const action0 = new Promise<number>((resolve) => (complete = resolve))
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0).pipe(
          Stream.concat(Stream.fromEffect(Effect.suspend(() => {
            complete(0)
            return Effect.fail("upstream")
          }))),
          Ordered.mapEffect(() => Effect.promise(() => action0), { concurrency: 2 })
        )
      )
      expect(exit).toEqual(Exit.fail("upstream"))
      expect(emitted).toEqual([])
    }))

  it.effect("upstream is pulled when a worker is free and the window has room: its failure is seen then", () =>
    Effect.gen(function*() {
      const completed = yield* Ref.make(0)
      const interrupted = yield* Ref.make(0)
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.range(1, 4).pipe(
          Stream.concat(Stream.fromEffect(Effect.andThen(Effect.sleep("20 millis"), Effect.fail("upstream")))),
          Ordered.mapEffect(
            (n) =>
              Effect.as(Effect.sleep(Duration.millis(n === 4 ? 500 : 100)), n).pipe(
                Effect.tap(() => Ref.update(completed, (k) => k + 1)),
                Effect.onInterrupt(() => Ref.update(interrupted, (k) => k + 1))
              ),
            { concurrency: 2 }
          )
        )
      )
      // 1 and 2 run until 100 ms, then 3 and 4 (admitted with them) start;
      // only when 3 ends at 200 ms is a worker free to pull upstream, which
      // fails 20 ms later: 4, still running, is interrupted.
      expect(exit).toEqual(Exit.fail("upstream"))
      expect(emitted).toEqual([1, 2, 3])
      expect(yield* Ref.get(completed)).toBe(3)
      expect(yield* Ref.get(interrupted)).toBe(1)
    }))
})

describe("timeout", () => {
  it.effect("an action still running after `timeout` is interrupted and fails with ActionTimeoutError", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make<Array<number>>([])
      const latencies = [10, 500, 20]
      const { emitted, exit } = yield* collectUntilEnd(
        Stream.make(0, 1, 2).pipe(
          Ordered.mapEffect(
            (n) =>
              Effect.onInterrupt(
                Effect.as(Effect.sleep(Duration.millis(latencies[n])), n),
                () => Ref.update(interrupted, (k) => [...k, n])
              ),
            { concurrency: 3, timeout: "100 millis" }
          )
        )
      )
      expect(emitted).toEqual([0])
      expect(exit).toEqual(Exit.fail(new ActionTimeoutError({ index: 1, timeout: Duration.millis(100) })))
      expect(yield* Ref.get(interrupted)).toEqual([1])
      if (Exit.isFailure(exit)) {
        const error = Option.getOrThrow(failureOf(exit.cause))
        expect(error.message).toBe("Action 1 did not complete within 100ms")
        expect(error._tag).toBe("ActionTimeoutError")
      }
    }))

  it.effect("an action that completes exactly at the timeout instant is not timed out when it wins", () =>
    Effect.gen(function*() {
      const exit = yield* drive(
        Ordered.forEach([1, 2, 3], (n) => Effect.as(Effect.sleep("50 millis"), n), { concurrency: 3, timeout: "51 millis" })
      )
      expect(exit).toEqual(Exit.succeed([1, 2, 3]))
    }))

  it.effect("each action runs on its worker, not on a fiber of its own: a run forks its workers and one watcher", () =>
    Effect.gen(function*() {
      const [counted, fibers] = countingFibers(
        Ordered.forEach(Array.from({ length: 200 }, (_, n) => n), (n) => Effect.as(Effect.sleep("1 millis"), n), {
          concurrency: 4,
          timeout: "1 second"
        })
      )
      const exit = yield* drive(counted)
      expect(exit).toEqual(Exit.succeed(Array.from({ length: 200 }, (_, n) => n)))
      // 4 workers, the watcher, and the fibers its few sleeps race on (`Effect.timeout` per action forked 200 or more)
      expect(fibers.started()).toBeLessThanOrEqual(16)
    }))

  it.effect("a pipeline that waits on upstream for an hour, under a 10 ms timeout, wakes its watcher a few times", () =>
    Effect.gen(function*() {
      const upstream = Stream.concat(Stream.make(0), Stream.fromEffect(Effect.as(Effect.sleep("1 hour"), 1)))
      const [counted, fibers] = countingFibers(
        Stream.runCollect(Ordered.mapEffect(upstream, (n) => Effect.as(Effect.sleep("1 millis"), n), { concurrency: 2, timeout: "10 millis" }))
      )
      const fiber = yield* fork(counted)
      yield* TestClock.adjust(Duration.hours(2))
      expect(Array.from(yield* Fiber.join(fiber))).toEqual([0, 1])
      // Once nothing has been watched for a whole timeout, the watcher parks: 360,000 wake-ups otherwise.
      expect(fibers.started()).toBeLessThanOrEqual(16)
    }))

  it.effect("one action's slow finalizer holds up no other action's timeout", () =>
    Effect.gen(function*() {
      const interruptedAt = yield* Ref.make<Array<readonly [number, number]>>([])
      const exit = yield* drive(
        Ordered.forEach([0, 1], (n) =>
          Effect.onInterrupt(Effect.never, () =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(interruptedAt, (k) => [...k, [n, now] as const])).pipe(
              Effect.andThen(Effect.sleep(n === 0 ? "1 second" : "0 millis"))
            )), { concurrency: 2, timeout: "100 millis" })
      )
      expect([...(yield* Ref.get(interruptedAt))].sort(([a], [b]) => a - b)).toEqual([[0, 100], [1, 100]])
      // Action 1's failure is filed at 100 ms; action 0's, the earlier in the order, once its finalizer ends.
      expect(exit).toEqual(Exit.fail(new ActionTimeoutError({ index: 0, timeout: Duration.millis(100) })))
    }))

  for (const ending of ["succeeds", "fails", "dies"] as const) {
    it.effect(`an uninterruptible action that ${ending} past its timeout fails with ActionTimeoutError as it ends, as Effect.timeout does`, () =>
      Effect.gen(function*() {
        const started = yield* Ref.make<Array<number>>([])
        const emitted: Array<number> = []
        const end = (n: number) =>
          ending === "succeeds" ? Effect.succeed(n) : ending === "fails" ? Effect.fail(new Boom({ n })) : Effect.die(new Error("late"))
        const outcome = yield* drive(
          Stream.make(0, 1).pipe(
            Ordered.mapEffect((n) =>
              Ref.update(started, (k) => [...k, n]).pipe(
                Effect.andThen(Effect.uninterruptible(Effect.andThen(Effect.sleep("300 millis"), end(n))))
              ), { concurrency: 1, timeout: "100 millis" }),
            Stream.runForEach((n) => Effect.sync(() => emitted.push(n))),
            Effect.exit,
            Effect.flatMap((exit) => Effect.map(Clock.currentTimeMillis, (at) => [exit, at] as const))
          )
        )
        const timedOut = Exit.fail(new ActionTimeoutError({ index: 0, timeout: Duration.millis(100) }))
        expect(outcome).toEqual(Exit.succeed([timedOut, 300]))
        // What it ended with is not its result, and its worker took nothing more.
        expect(emitted).toEqual([])
        expect(yield* Ref.get(started)).toEqual([0])
      }))
  }

  it.effect("ActionTimeoutError is catchable by tag", () =>
    Effect.gen(function*() {
      const fiber = yield* Ordered.forEach([0], () => Effect.never, { concurrency: 1, timeout: "1 second" }).pipe(
        Effect.catchTag("ActionTimeoutError", (e) => Effect.succeed([`timed out: ${e.index}`])),
        fork
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(["timed out: 0"])
    }))
})

describe("results before a failure are not lost", () => {
  it.effect("Stream.runCollect's error comes after the emitted prefix (Stream.either, Stream.result on 4, shows both)", () =>
    Effect.gen(function*() {
      const out = yield* Stream.range(0, 5).pipe(
        Ordered.mapEffect((n) => n === 4 ? Effect.fail(new Boom({ n })) : Effect.succeed(n), { concurrency: 3 }),
        streamOutcome,
        Stream.runCollect
      )
      expect(Array.from(out).map((e) => e.ok ? e.value : e.error._tag)).toEqual([
        0,
        1,
        2,
        3,
        "Boom"
      ])
    }))
})

describe("an iterable that throws", () => {
  class IteratorBroke {
    readonly _tag = "IteratorBroke"
  }
  /** Yields 0 … count - 1, then throws. */
  function* yieldsThenThrows(count: number) {
    for (let i = 0; i < count; i++) yield i
    throw new IteratorBroke()
  }

  // As `for…of`: the items yielded before the throw are processed, then the error surfaces.
  it.effect("every item yielded before the throw runs and completes, then the run dies with the error, whatever the window", () =>
    Effect.gen(function*() {
      for (const [concurrency, window] of [[1, 1], [1, 5], [2, 2], [2, 6], [3, 7], [4, 100], [4, Infinity]]) {
        for (const count of [0, 1, 5, 23]) {
          const started: Array<number> = []
          const completed: Array<number> = []
          const fiber = yield* fork(Ordered.forEach(
            yieldsThenThrows(count),
            (n) =>
              Effect.sync(() => started.push(n)).pipe(
                // Later items finish first: completion order is not input order.
                Effect.andThen(Effect.sleep(Duration.millis(100 - n))),
                Effect.andThen(Effect.sync(() => completed.push(n)))
              ),
            { concurrency, window }
          ))
          yield* TestClock.adjust("1 minute")
          const exit = yield* Fiber.await(fiber)
          const setting = { concurrency, window, count }
          expect({ ...setting, started }).toEqual({ ...setting, started: Array.from({ length: count }, (_, i) => i) })
          expect({ ...setting, completed: completed.length }).toEqual({ ...setting, completed: count })
          expect(exit).toEqual(Exit.die(new IteratorBroke()))
        }
      }
    }))
})

describe("an action whose continuation returns no effect", () => {
  // Effect 4 ends the fiber at once with a defect, without unwinding its stack; the engine still sees it (it hung).
  const invalid = (n: number): Effect.Effect<number> =>
    n === 2
      ? Effect.flatMap(Effect.sleep(Duration.millis(5)), () => undefined as unknown as Effect.Effect<number>)
      : Effect.as(Effect.sleep(Duration.millis(10 * n)), n)
  for (const order of ["total", "key", "none"] as const) {
    for (const concurrency of [1, 3]) {
      it.effect(`fails the run with a defect (order ${order}, concurrency ${concurrency})`, () =>
        Effect.gen(function*() {
          const exit = yield* drive(Ordered.forEach([1, 2, 3], invalid, { concurrency, order, key: (n) => n % 2 }))
          expect(Exit.isFailure(exit) && Option.isSome(defectOf(exit.cause))).toBe(true)
        }))
    }
  }
})
