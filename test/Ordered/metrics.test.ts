import { describe, expect, it } from "@effect/vitest"
import { Data, Duration, Effect, Exit, Fiber, Metric, Option, Stream } from "effect"
import { afterEach, vi } from "vitest"
import { ActionTimeoutError, Ordered } from "../../src/index.ts"
import { Admission } from "../../src/internal/admission.ts"
import * as M from "../../src/internal/metrics.ts"
import * as runtime from "../../src/internal/runtime.ts"
import { makeRecordingTracer } from "../utils/tracer.ts"
import {
  TestClock,
  adjustUntilDone,
  currentClock,
  defectOf,
  fc,
  failuresOf,
  fork,
  isInterrupted,
  line,
  makeClock,
  metricSnapshot,
  settle,
  tagged,
  withClock,
  yieldNow
} from "../utils/line.ts"

/** The value of `metric` for pipeline `name`. */
const valueOf = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, name: string) =>
  Metric.value(tagged(metric, "pipeline", name))

/** Every effect_ordered_* metric of the registry, with its tags. */
const recorded = Effect.map(metricSnapshot, (entries) =>
  entries.filter((entry) => entry.name.startsWith("effect_ordered_")).map((entry) => ({
    name: entry.name,
    tags: Object.entries(entry.attributes).map(([key, value]) => `${key}=${value}`)
  })))

// Eight actions, all started at 0 (concurrency 8): each is released when every
// earlier one has finished, at the running maximum of the latencies.
const LATENCIES = [50, 10, 30, 70, 20, 60, 40, 80]
const released = LATENCIES.map((_, i) => Math.max(...LATENCIES.slice(0, i + 1)))
const sum = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)

/** A named `mapEffect` whose actions sleep `latencies`, run to its end on the TestClock. */
const sleepAll = (latencies: ReadonlyArray<number>, concurrency: number, name: string) =>
  Stream.fromIterable(latencies).pipe(
    Ordered.mapEffect((ms) => Effect.as(Effect.sleep(Duration.millis(ms)), ms), { concurrency, name }),
    Stream.runDrain,
    fork,
    Effect.tap(() => Effect.andThen(settle, TestClock.adjust("1 second"))),
    Effect.flatMap(Fiber.join)
  )

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

describe("metrics (options.name)", () => {
  // A run whose series are all its own brings them up to date as they are read; one that finds a series made
  // elsewhere first (here: read before the run) updates it as it goes. Either way a read sees the run's counts.
  for (const madeBefore of [false, true]) {
    it.effect(`gauges follow the run: in flight, and taken but not yet emitted (series ${madeBefore ? "read before the run" : "the run's own"})`, () =>
    Effect.gen(function*() {
      const name = `gauges-${madeBefore}`
      if (madeBefore) {
        expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
        expect((yield* valueOf(M.emitted, name)).count).toBe(0)
      }
      const fiber = yield* fork(Ordered.forEach(
        LATENCIES,
        (ms) => Effect.as(Effect.sleep(Duration.millis(ms)), ms),
        { concurrency: 8, name }
      ))
      yield* settle
      yield* TestClock.adjust("25 millis")
      // 10 and 20 have finished; nothing is released before 50.
      expect((yield* valueOf(M.inFlight, name)).value).toBe(6)
      expect((yield* valueOf(M.window, name)).value).toBe(8)
      yield* TestClock.adjust("30 millis")
      // At 55: 50, 10, 30 released; 70, 60, 80 still run.
      expect((yield* valueOf(M.inFlight, name)).value).toBe(3)
      expect((yield* valueOf(M.window, name)).value).toBe(5)
      expect((yield* valueOf(M.emitted, name)).count).toBe(3)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(LATENCIES)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
      expect((yield* valueOf(M.window, name)).value).toBe(0)
    }))
  }

  it.effect("two runs of one name at once add up in its series, mid-run and at their ends", () =>
    Effect.gen(function*() {
      const name = "two-runs"
      const run = (latencies: ReadonlyArray<number>) =>
        fork(Ordered.forEach(latencies, (ms) => Effect.as(Effect.sleep(Duration.millis(ms)), ms), { concurrency: 8, name }))
      const first = yield* run(LATENCIES)
      const second = yield* run([5, 100, 5])
      yield* settle
      yield* TestClock.adjust("25 millis")
      // The first: 10 and 20 finished (6 run, 8 in its window); the second: 5 released, 5 finished behind 100.
      expect((yield* valueOf(M.inFlight, name)).value).toBe(6 + 1)
      expect((yield* valueOf(M.window, name)).value).toBe(8 + 2)
      expect((yield* valueOf(M.emitted, name)).count).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
      expect((yield* valueOf(M.window, name)).value).toBe(0)
      expect((yield* valueOf(M.emitted, name)).count).toBe(11)
      expect((yield* valueOf(M.actionDuration, name)).count).toBe(11)
    }))

  it.effect("a series made here for a run runs its beforeRead on every read; one made elsewhere first keeps Effect's hook", () =>
    runtime.withFiber((fiber) =>
      Effect.gen(function*() {
        let reads = 0
        const beforeRead = () => void reads++
        const madeBefore = "hooks-made-before"
        yield* valueOf(M.inFlight, madeBefore)
        yield* valueOf(M.actionDuration, madeBefore)
        const made = [
          runtime.seriesOf(M.inFlight, "hooks-new", fiber, beforeRead),
          runtime.histogramSeriesOf(M.actionDuration, "hooks-new", fiber, beforeRead)
        ]
        const found = [
          runtime.seriesOf(M.inFlight, madeBefore, fiber, beforeRead),
          runtime.histogramSeriesOf(M.actionDuration, madeBefore, fiber, beforeRead)
        ]
        expect([...made, ...found].map((series) => series.readsRunBeforeRead)).toEqual([true, true, false, false])
        made[0].update(3)
        made[1].update(7)
        expect([reads, (yield* valueOf(M.inFlight, "hooks-new")).value, reads]).toEqual([0, 3, 1])
        expect([(yield* valueOf(M.actionDuration, "hooks-new")).sum, reads]).toEqual([7, 2])
        yield* valueOf(M.inFlight, madeBefore)
        yield* valueOf(M.actionDuration, madeBefore)
        expect(reads).toBe(2)
        // A snapshot reads every series: each of the two made here once.
        yield* metricSnapshot
        expect(reads).toBe(4)
        // A later lookup finds the series made here, reading first.
        expect(runtime.seriesOf(M.inFlight, "hooks-new", fiber, beforeRead).readsRunBeforeRead).toBe(true)
      })
    ))

  it.effect("histograms: each action's duration, and its wait from finishing to release in order", () =>
    Effect.gen(function*() {
      const name = "histograms"
      yield* sleepAll(LATENCIES, 8, name)
      const duration = yield* valueOf(M.actionDuration, name)
      expect([duration.count, duration.sum, duration.min, duration.max]).toEqual([8, sum(LATENCIES), 10, 80])
      const delay = yield* valueOf(M.emitDelay, name)
      const waits = LATENCIES.map((ms, i) => released[i] - ms)
      expect([delay.count, delay.sum, delay.max]).toEqual([8, sum(waits), Math.max(...waits)])
      expect((yield* valueOf(M.emitted, name)).count).toBe(8)
      expect((yield* valueOf(M.failures, name)).count).toBe(0)
    }))

  it.effect("failures counts failed and timed-out actions; the gauges return to 0 after the failure", () =>
    Effect.gen(function*() {
      const name = "failures"
      const fiber = yield* fork(Ordered.forEach(
        [1, 2, 3, 4],
        (n) => n === 3 ? Effect.fail(new Boom({ n })) : Effect.sleep(Duration.seconds(n === 4 ? 10 : n)),
        { concurrency: 2, order: "none", timeout: "5 seconds", name }
      ))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(new Boom({ n: 3 })))
      expect((yield* valueOf(M.failures, name)).count).toBe(1)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
      expect((yield* valueOf(M.window, name)).value).toBe(0)

      const timedOut = "timeouts"
      const second = yield* fork(Effect.exit(Ordered.forEach(
        [1, 10],
        (n) => Effect.sleep(Duration.seconds(n)),
        { concurrency: 2, timeout: "5 seconds", name: timedOut }
      )))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(second)
      expect((yield* valueOf(M.failures, timedOut)).count).toBe(1)
      expect((yield* valueOf(M.actionDuration, timedOut)).count).toBe(2)
    }))

  it.effect("instant actions are counted like the others", () =>
    Effect.gen(function*() {
      const name = "instant"
      yield* Ordered.forEach(Array.from({ length: 1000 }, (_, i) => i), Effect.succeed, { concurrency: 10, name })
      expect((yield* valueOf(M.emitted, name)).count).toBe(1000)
      expect((yield* valueOf(M.actionDuration, name)).count).toBe(1000)
      expect((yield* valueOf(M.window, name)).value).toBe(0)
    }))

  it.effect("with tracing off, instant actions (released with no Task) are counted like the others", () =>
    Effect.gen(function*() {
      const name = "instant-untraced"
      const n = 1000
      // Every seventh action completes through a promise: the instant ones after it wait for it, the others leave at once.
      const action = (i: number) => i % 7 === 0 ? Effect.promise(() => Promise.resolve(i)) : Effect.succeed(i)
      const out = yield* Ordered.forEach(Array.from({ length: n }, (_, i) => i), action, { concurrency: 10, name }).pipe(
        Effect.withTracerEnabled(false)
      )
      expect(out).toEqual(Array.from({ length: n }, (_, i) => i))
      expect((yield* valueOf(M.emitted, name)).count).toBe(n)
      expect((yield* valueOf(M.actionDuration, name)).count).toBe(n)
      expect((yield* valueOf(M.emitDelay, name)).count).toBe(n)
      expect((yield* valueOf(M.window, name)).value).toBe(0)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
    }))

  it.effect("every series exists from the start, at 0: a run whose actions all succeed at once shows failures 0", () =>
    Effect.gen(function*() {
      const name = "from-the-start"
      const mine = Effect.map(recorded, (all) =>
        all.filter((metric) => metric.tags.includes(`pipeline=${name}`)).map((metric) => metric.name).sort())
      const all = [
        "effect_ordered_action_duration_ms",
        "effect_ordered_emit_delay_ms",
        "effect_ordered_emitted",
        "effect_ordered_failures",
        "effect_ordered_in_flight",
        "effect_ordered_window"
      ]
      // Seen from inside the first action: the run has started, nothing has completed yet.
      let atFirstAction: ReadonlyArray<string> = []
      yield* Ordered.forEach([1, 2, 3], (n) =>
        // The tap returns an effect: on effect 4 a callback that returns none kills the fiber.
        n === 1 ? Effect.as(Effect.tap(mine, (names) => Effect.sync(() => { atFirstAction = names })), n) : Effect.succeed(n), {
        concurrency: 2,
        name
      })
      expect(atFirstAction).toEqual(all)
      expect(yield* mine).toEqual(all)
      expect((yield* valueOf(M.failures, name)).count).toBe(0)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(0)
      expect((yield* valueOf(M.emitted, name)).count).toBe(3)
    }))

  it.effect("a named forEach's emitted count is exact mid-run, once the workers have filed, and at its end", () =>
    Effect.gen(function*() {
      const name = "emitted-forEach"
      // Sequential sleeps of 10 ms, each released as it ends; instant actions in between leave within the same step.
      const fiber = yield* fork(Ordered.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => i % 4 === 0 ? Effect.as(Effect.sleep(Duration.millis(10)), i) : Effect.succeed(i),
        { concurrency: 1, name, discard: true }
      ))
      yield* settle
      // At 0: action 0 sleeps, nothing released.
      expect((yield* valueOf(M.emitted, name)).count).toBe(0)
      yield* TestClock.adjust("25 millis")
      yield* settle
      // At 25: actions 0 and 4 slept and were released, with the instant ones after each: 0..7; 8 sleeps.
      expect((yield* valueOf(M.emitted, name)).count).toBe(8)
      expect((yield* valueOf(M.inFlight, name)).value).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect((yield* valueOf(M.emitted, name)).count).toBe(40)
      const duration = yield* valueOf(M.actionDuration, name)
      // Ten actions of 10 ms, thirty of 0: each start timed right after the previous release, at the same instant.
      expect([duration.count, duration.sum, duration.min, duration.max]).toEqual([40, 100, 0, 10])
    }))

  it.effect("a promise action started right after another's result is timed from its own start", () =>
    Effect.gen(function*() {
      const name = "back-to-back"
      const latencies = [30, 10, 20, 40, 5]
      // One worker: each action starts as the previous one's result is filed, in the same synchronous run.
      yield* sleepAll(latencies, 1, name)
      const duration = yield* valueOf(M.actionDuration, name)
      expect([duration.count, duration.sum, duration.min, duration.max]).toEqual([5, sum(latencies), 5, 40])
      const delay = yield* valueOf(M.emitDelay, name)
      // Each released as it ended: five waits of 0, all in the first bucket.
      expect([delay.count, delay.sum, delay.buckets[0][1]]).toEqual([5, 0, 5])
    }))

  it.effect("an action started after its worker waited for input is timed from its own start", () =>
    Effect.gen(function*() {
      const name = "after-a-wait"
      // Upstream yields an element every 100 ms; each action takes 10 ms, then its worker waits for the next element.
      const upstream = Stream.mapEffect(Stream.fromIterable([0, 1, 2]), (i) => Effect.as(Effect.sleep(Duration.millis(100)), i))
      const fiber = yield* fork(Stream.runDrain(
        Ordered.mapEffect(upstream, (i) => Effect.as(Effect.sleep(Duration.millis(10)), i), { concurrency: 1, name })
      ))
      yield* adjustUntilDone(fiber, "1 second")
      yield* Fiber.join(fiber)
      const duration = yield* valueOf(M.actionDuration, name)
      expect([duration.count, duration.sum, duration.min, duration.max]).toEqual([3, 30, 10, 10])
    }))

  it.effect("with tracing off, a named run reads the clock once per action through the runtime, never for an instant one", () =>
    Effect.gen(function*() {
      const name = "clock-reads"
      const testClock = yield* currentClock
      let reads = 0
      const counting = makeClock(() => {
        reads++
        return testClock.millis()
      }, testClock.sleep)
      // Every other action yields (it completes through the runtime); the others succeed as `f` returns them.
      const action = (i: number) => i % 2 === 0 ? Effect.succeed(i) : Effect.as(yieldNow, i)
      yield* withClock(Ordered.forEach(Array.from({ length: 100 }, (_, i) => i), action, { concurrency: 1, name }), counting).pipe(
        Effect.withTracerEnabled(false)
      )
      // One worker: each yielding action's end is read, and the next start takes that reading; the first start is read.
      expect(reads).toBe(51)
      expect((yield* valueOf(M.actionDuration, name)).count).toBe(100)
    }))

  it.effect("a histogram series kept by effect-ordered reads as Effect's own after the same observations", () =>
    Effect.gen(function*() {
      let run = 0
      // Each observation is a value, or a batch of zeros (`updateZeros`), as a run's flush brings them.
      const observations = fc.array(
        fc.oneof(
          fc.record({ value: fc.oneof(fc.integer({ min: -3, max: 70_000 }), fc.double({ min: -1, max: 40_000, noNaN: true })) }),
          fc.record({ zeros: fc.integer({ min: 0, max: 300 }) })
        ),
        { maxLength: 60 }
      )
      const compare = (list: ReadonlyArray<{ value: number } | { zeros: number }>) =>
        Effect.gen(function*() {
          run++
          const owned = `histogram-owned-${run}`
          const effects = `histogram-effects-${run}`
          // Read first: the series exists, made by Effect, and effect-ordered takes each observation through its hook.
          yield* valueOf(M.actionDuration, effects)
          const series = [runtime.histogramSeriesOf(M.actionDuration, owned, undefined), runtime.histogramSeriesOf(M.actionDuration, effects, undefined)]
          for (const observation of list) {
            for (const one of series) {
              if ("zeros" in observation) one.updateZeros(observation.zeros)
              else one.update(observation.value)
            }
          }
          const [a, b] = [yield* valueOf(M.actionDuration, owned), yield* valueOf(M.actionDuration, effects)]
          expect([a.buckets, a.count, a.sum, a.min, a.max]).toEqual([b.buckets, b.count, b.sum, b.min, b.max])
        })
      for (const list of fc.sample(observations, { numRuns: 40, seed: 22 })) yield* compare(list)
      yield* compare([])
    }))

  it.effect("without a name, nothing is recorded", () =>
    Effect.gen(function*() {
      const before = yield* recorded
      yield* Ordered.forEach([1, 2, 3], (n) => Effect.as(yieldNow, n), { concurrency: 2 })
      yield* Stream.runDrain(Ordered.mapEffect(Stream.make(1, 2, 3), Effect.succeed, { concurrency: 2 }))
      const after = yield* recorded
      expect(after).toEqual(before)
      expect(after.every((metric) => metric.tags.some((tag) => tag.startsWith("pipeline=")))).toBe(true)
    }))
})

/**
 * The durations a named `mapEffect` (one worker, window 4) records when its consumer's downstream takes 100 ms of the
 * clock per element, synchronously: what the consumer does between two actions is neither's time.
 */
const timedBesideASlowConsumer = (inputs: ReadonlyArray<number>, tracing: boolean, name: string) =>
  Effect.gen(function*() {
    const testClock = yield* currentClock
    let consumed = 0
    const clock = makeClock(() => testClock.millis() + consumed, (duration) => testClock.sleep(duration))
    const run = Stream.fromIterable(inputs).pipe(
      Ordered.mapEffect((ms) => ms === 0 ? Effect.succeed(ms) : Effect.as(Effect.sleep(Duration.millis(ms)), ms), {
        concurrency: 1,
        window: 4,
        name
      }),
      Stream.tap(() => Effect.sync(() => { consumed += 100 })),
      Stream.runDrain
    )
    const fiber = yield* fork(withClock(run, clock).pipe(Effect.withTracerEnabled(tracing)))
    yield* adjustUntilDone(fiber, "1 second")
    yield* Fiber.join(fiber)
    const duration = yield* valueOf(M.actionDuration, name)
    return [duration.count, duration.max]
  })

describe("metrics (options.name) beside a consumer that takes time", () => {
  for (const tracing of [false, true]) {
    it.effect(`an action started after the consumer ran is timed from its own start (tracing ${tracing ? "on" : "off"})`, () =>
      Effect.gen(function*() {
        // After the first three instant results, the window is full and the worker wakes the consumer, which runs at once
        // on effect 4 (on 3, once the worker yields); the next action then starts.
        expect(yield* timedBesideASlowConsumer([10, 0, 0, 0, 10, 0, 0, 0, 10], tracing, `slow-consumer-${tracing}`)).toEqual([9, 10])
      }))

    it.effect(`an action the consumer is woken for as it starts is timed from after the consumer ran (tracing ${tracing ? "on" : "off"})`, () =>
      Effect.gen(function*() {
        // The fourth action fills the window: the worker wakes the consumer for the three results before it. Effect 4 runs
        // the consumer at once, and the action starts after it; effect 3 runs it while the action waits, within its time.
        const consumer = line === 4 ? 0 : 300
        expect(yield* timedBesideASlowConsumer([0, 0, 0, 10], tracing, `woken-at-start-${tracing}`)).toEqual([4, 10 + consumer])
      }))
  }
})

/** The in-flight and window gauges of pipeline `name`. */
const gauges = (name: string) =>
  Effect.map(Effect.all([valueOf(M.inFlight, name), valueOf(M.window, name)]), ([running, taken]) => [running.value, taken.value])

/** A named run with tracing off, one worker: every action that sleeps starts alone and runs with no `Task` (docs/ordered.md § Design). */
const sleepFor = (ms: number) => Effect.as(Effect.sleep(Duration.millis(ms)), ms)

/** Forks `run` with tracing off. */
const untraced = <A, E>(run: Effect.Effect<A, E>) => fork(Effect.withTracerEnabled(run, false))

const alone = <B, E>(latencies: ReadonlyArray<number>, f: (ms: number, i: number) => Effect.Effect<B, E>, name: string) =>
  untraced(Ordered.forEach(latencies, f, { concurrency: 1, name }))

/** Count, sum, min and max of pipeline `name`'s action durations. */
const durations = (name: string) =>
  Effect.map(valueOf(M.actionDuration, name), (duration) => [duration.count, duration.sum, duration.min, duration.max])

/** Pipeline `name` at its end: its durations, the count and sum of its waits, and its gauges. */
const summary = (name: string) =>
  Effect.all({
    durations: durations(name),
    waits: Effect.map(valueOf(M.emitDelay, name), (delay) => [delay.count, delay.sum]),
    gauges: gauges(name)
  })

describe("metrics (options.name, tracing off) of actions that start alone, with no Task", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("gauges, durations and waits: each action timed from its own start, released as it ends", () =>
    Effect.gen(function*() {
      const name = "alone"
      const latencies = [30, 10, 20, 40, 5]
      // The path this describes is taken: each action starts, and leaves, with no Task.
      const startUntracked = vi.spyOn(Admission.prototype, "startUntracked")
      const releaseUntracked = vi.spyOn(Admission.prototype, "releaseUntracked")
      const fiber = yield* alone(latencies, sleepFor, name)
      yield* settle
      yield* TestClock.adjust("35 millis")
      // At 35: 30 was released, 10 runs (started at 30).
      expect(yield* gauges(name)).toEqual([1, 1])
      expect((yield* valueOf(M.emitted, name)).count).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(latencies)
      expect(yield* summary(name)).toEqual({ durations: [5, sum(latencies), 5, 40], waits: [5, 0], gauges: [0, 0] })
      expect((yield* valueOf(M.emitted, name)).count).toBe(5)
      expect([startUntracked.mock.calls.length, releaseUntracked.mock.calls.length]).toEqual([5, 5])
    }))

  it.effect("an action tracked as the next is admitted keeps its start, and is counted once", () =>
    Effect.gen(function*() {
      const name = "alone-then-tracked"
      // 0 arrives at 0 and sleeps 30 ms; 1 and 2 arrive at 20 and 40 and sleep 5: 0 runs alone until 1 is admitted beside it.
      const upstream = Stream.mapEffect(Stream.fromIterable([0, 1, 2]), (i) => Effect.as(Effect.sleep(Duration.millis(20 * i)), i))
      const fiber = yield* untraced(Stream.runDrain(Ordered.mapEffect(upstream, (i) => sleepFor(i === 0 ? 30 : 5), { concurrency: 2, name })))
      yield* adjustUntilDone(fiber, "22 millis")
      expect(yield* gauges(name)).toEqual([2, 2])
      yield* adjustUntilDone(fiber, "1 second")
      yield* Fiber.join(fiber)
      // 1 ended at 25 and waited for 0 until 30.
      expect(yield* summary(name)).toEqual({ durations: [3, 40, 5, 30], waits: [3, 5], gauges: [0, 0] })
    }))

  it.effect("a timed-out action is counted and timed as it timed out", () =>
    Effect.gen(function*() {
      const name = "alone-timeout"
      const fiber = yield* untraced(Ordered.forEach([10, 100, 20], sleepFor, { concurrency: 1, name, timeout: "50 millis" }))
      yield* adjustUntilDone(fiber, "30 millis")
      expect(yield* gauges(name)).toEqual([1, 1])
      yield* adjustUntilDone(fiber, "1 second")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(new ActionTimeoutError({ index: 1, timeout: Duration.millis(50) })))
      expect((yield* valueOf(M.failures, name)).count).toBe(1)
      expect(yield* durations(name)).toEqual([2, 60, 10, 50])
      expect((yield* valueOf(M.emitted, name)).count).toBe(1)
      expect(yield* gauges(name)).toEqual([0, 0])
    }))

  it.effect("under a timeout, an action that succeeds in time leaves as it ends, with no Task", () =>
    Effect.gen(function*() {
      const name = "alone-within-timeout"
      const latencies = [30, 10, 20]
      const startUntracked = vi.spyOn(Admission.prototype, "startUntracked")
      const releaseUntracked = vi.spyOn(Admission.prototype, "releaseUntracked")
      // The timeout runs the action on a fiber of its own (on effect 3 a child of the worker), ended when its value comes back.
      const run = Ordered.mapEffect(Stream.fromIterable(latencies), sleepFor, { concurrency: 1, name, timeout: "1 second" })
      const fiber = yield* untraced(Stream.runCollect(run))
      yield* adjustUntilDone(fiber, "1 second")
      expect([...(yield* Fiber.join(fiber))]).toEqual(latencies)
      expect(yield* summary(name)).toEqual({ durations: [3, 60, 10, 30], waits: [3, 0], gauges: [0, 0] })
      expect([startUntracked.mock.calls.length, releaseUntracked.mock.calls.length]).toEqual([3, 3])
    }))

  it.effect("an action whose forked fibers end before its result is filed is timed once, to its own end", () =>
    Effect.gen(function*() {
      const name = "alone-children"
      // Ordered.mapEffect interrupts what an action forked when the action ends, before its result is filed.
      const action = (ms: number) => Effect.andThen(fork(Effect.never), sleepFor(ms))
      const fiber = yield* untraced(Stream.runDrain(Ordered.mapEffect(Stream.fromIterable([30, 10, 20]), action, { concurrency: 1, name })))
      yield* adjustUntilDone(fiber, "35 millis")
      expect(yield* gauges(name)).toEqual([1, 1])
      expect((yield* valueOf(M.emitted, name)).count).toBe(1)
      yield* adjustUntilDone(fiber, "1 second")
      yield* Fiber.join(fiber)
      expect(yield* summary(name)).toEqual({ durations: [3, 60, 10, 30], waits: [3, 0], gauges: [0, 0] })
    }))

  it.effect("a failure is counted and timed; the gauges return to 0", () =>
    Effect.gen(function*() {
      const name = "alone-failure"
      const fiber = yield* alone(
        [10, 20, 30],
        (ms, i) => Effect.andThen(Effect.sleep(Duration.millis(ms)), i === 1 ? Effect.fail(new Boom({ n: i })) : Effect.succeed(ms)),
        name
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(new Boom({ n: 1 })))
      expect((yield* valueOf(M.failures, name)).count).toBe(1)
      const duration = yield* valueOf(M.actionDuration, name)
      // The third never started.
      expect([duration.count, duration.sum]).toEqual([2, 30])
      expect(yield* gauges(name)).toEqual([0, 0])
    }))

  it.effect("an action interrupted with the run counts as running until then, is not timed, and leaves the gauges at 0", () =>
    Effect.gen(function*() {
      const name = "alone-interrupted"
      const fiber = yield* alone([60_000], sleepFor, name)
      yield* settle
      yield* TestClock.adjust("10 millis")
      expect(yield* gauges(name)).toEqual([1, 1])
      yield* Fiber.interrupt(fiber)
      expect(yield* gauges(name)).toEqual([0, 0])
      expect((yield* valueOf(M.actionDuration, name)).count).toBe(0)
    }))
})

describe("spans (options.name)", () => {
  /** Interrupts `run` at 150 ms, its action having timed out at 100 ms and a finalizer still running until 1,150 ms. */
  const interruptedWhileTimingOut = (run: Effect.Effect<unknown, unknown>) =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const fiber = yield* fork(Effect.withTracer(run, tracer))
      yield* settle
      yield* TestClock.adjust("150 millis")
      yield* settle
      const interrupting = yield* fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust(Duration.seconds(2))
      yield* Fiber.join(interrupting)
      return spans.filter((span) => span.name === "effect-ordered.action").map((span) => span.status._tag)
    })

  it.effect("a timed-out hedged action's span ends when the run is interrupted while its losing attempt's finalizer runs", () =>
    Effect.gen(function*() {
      const slowFinalizer = Effect.onInterrupt(Effect.never, () => Effect.sleep("1 second"))
      const run = Ordered.forEach(
        [0],
        () => Effect.flatMap(Ordered.currentAttempt, (attempt) => attempt === 1 ? Effect.never : slowFinalizer),
        { concurrency: 2, hedge: { after: "10 millis" }, timeout: "100 millis", name: "timed-out-hedged" }
      )
      expect(yield* interruptedWhileTimingOut(run)).toEqual(["Ended"])
    }))

  it.effect("a timed-out action's span ends when the run is interrupted while a child it forked is being ended", () =>
    Effect.gen(function*() {
      const run = Stream.runDrain(Ordered.mapEffect(
        Stream.make(0),
        () => Effect.andThen(fork(Effect.onInterrupt(Effect.never, () => Effect.sleep("1 second"))), Effect.never),
        { concurrency: 1, timeout: "100 millis", name: "timed-out-child" }
      ))
      expect(yield* interruptedWhileTimingOut(run)).toEqual(["Ended"])
    }))

  it.effect("each action runs in a span effect-ordered.action, child of the caller's span, parent of the action's own", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      yield* Ordered.forEach(
        ["a", "b", "a"],
        (key, index) => index === 1 ? Effect.succeed(key) : Effect.withSpan(Effect.as(yieldNow, key), "inner"),
        { concurrency: 2, key: (k) => k, name: "traced" }
      ).pipe(Effect.withSpan("caller"), Effect.withTracer(tracer))
      const actions = spans.filter((span) => span.name === "effect-ordered.action")
      const attributes = actions.map((span) => Object.fromEntries(span.attributes))
      expect(attributes.sort((x, y) => Number(x.index) - Number(y.index))).toEqual([
        { pipeline: "traced", index: 0, key: "a" },
        { pipeline: "traced", index: 1, key: "b" },
        { pipeline: "traced", index: 2, key: "a" }
      ])
      expect(actions.every((span) => span.parentName === "caller" && span.status._tag === "Ended")).toBe(true)
      const inner = spans.filter((span) => span.name === "inner")
      expect(inner.map((span) => span.parent.pipe(Option.map((p) => p.spanId), Option.getOrUndefined)).sort()).toEqual(
        actions.filter((span) => span.attributes.get("index") !== 1).map((span) => span.spanId).sort()
      )
    }))

  it.effect("a failed action's span ends with its failure; an interrupted one's with its interruption", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const fiber = yield* fork(
        Ordered.forEach([0, 1], (n) => n === 0 ? Effect.andThen(Effect.sleep("1 second"), Effect.fail("no")) : Effect.never, {
          concurrency: 2,
          name: "ends"
        }).pipe(Effect.withTracer(tracer))
      )
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.await(fiber)
      const byIndex = new Map(spans.map((span) => [span.attributes.get("index"), span.exit]))
      // Exits compared by what they hold: effect 4 registers no equality for `toEqual`.
      const failed = byIndex.get(0)
      expect(failed !== undefined && Exit.isFailure(failed) ? [failuresOf(failed.cause), defectOf(failed.cause)] : failed)
        .toEqual([["no"], Option.none()])
      expect(failed !== undefined && isInterrupted(failed)).toBe(false)
      expect(byIndex.get(1) !== undefined && isInterrupted(byIndex.get(1)!)).toBe(true)
    }))

  it.effect("without a name, no span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      yield* Ordered.forEach([1, 2], (n) => Effect.as(yieldNow, n), { concurrency: 2 }).pipe(
        Effect.withTracer(tracer)
      )
      expect(spans).toEqual([])
    }))
})
