import { describe, expect } from "@effect/vitest"
import { Effect, Equal, Fiber, Metric, pipe, Stream } from "effect"
import { Sequencer } from "../../src/index.ts"
import * as M from "../../src/internal/metrics.ts"
import { TestClock, fork, metricSnapshot, outcome, tagged, itScoped } from "../utils/line.ts"

const valueOf = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, name: string) =>
  Metric.value(tagged(metric, "pipeline", name))

describe("Sequencer: events, module functions, metrics", () => {
  itScoped("events are a Data.TaggedEnum: constructors, $is, $match, structural equality", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4, gapTimeout: "10 millis" })
      yield* sequencer.offer("k", 0, "first")
      yield* sequencer.offer("k", 2, "third")
      yield* TestClock.adjust("10 millis")
      const events = Array.from(yield* Stream.runCollect(Stream.take(sequencer.stream, 3)))
      expect(events.map((e) => Equal.equals(e, events[0]))).toEqual([true, false, false])
      expect(Equal.equals(events[1], Sequencer.Event.Gap({ key: "k", from: 1, to: 1 }))).toBe(true)
      expect(events.map(Sequencer.Event.$match({ Released: (e) => e.value, Gap: (e) => `gap ${e.from}` }))).toEqual([
        "first",
        "gap 1",
        "third"
      ])
      expect(events.map(Sequencer.isGap)).toEqual(events.map(Sequencer.Event.$is("Gap")))
      expect(events.map(Sequencer.isReleased)).toEqual([true, false, true])
    }))

  itScoped("module functions do what the methods do, data-first and data-last", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4 })
      yield* Sequencer.offer(sequencer, "k", 1, "second")
      yield* pipe(sequencer, Sequencer.offer("k", 0, "first"))
      expect(yield* Sequencer.next(sequencer, "k")).toBe(2)
      expect(yield* pipe(sequencer, Sequencer.next("other"))).toBe(0)
      expect(yield* Sequencer.stats(sequencer)).toEqual(yield* sequencer.stats)
      const values = yield* Stream.runCollect(Stream.take(Sequencer.stream(sequencer), 2))
      expect(Array.from(values).map((e) => Sequencer.isReleased(e) && e.value)).toEqual(["first", "second"])
      expect(yield* outcome(Sequencer.offer(sequencer, "k", 0, "again"))).toMatchObject({
        ok: false,
        error: { _tag: "DuplicateSequenceError" }
      })
      // offerAwait returns once the consumer has taken the value.
      const taken = yield* fork(Stream.runCollect(Stream.take(Sequencer.stream(sequencer), 2)))
      yield* Sequencer.offerAwait(sequencer, "k", 2, "third")
      yield* pipe(sequencer, Sequencer.offerAwait("k", 3, "fourth"))
      expect(Array.from(yield* Fiber.join(taken)).map((e) => Sequencer.isReleased(e) && e.value)).toEqual([
        "third",
        "fourth"
      ])
    }))

  itScoped("with a name: buffered gauge, gaps and duplicates counters", () =>
    Effect.gen(function*() {
      const name = "reassembly"
      const sequencer = yield* Sequencer.make<string>({ capacity: 8, gapTimeout: "1 second", name })
      yield* sequencer.offer("a", 2, "a2")
      yield* sequencer.offer("a", 3, "a3")
      yield* sequencer.offer("b", 1, "b1")
      expect((yield* valueOf(M.sequencerBuffered, name)).value).toBe(3)
      yield* Effect.exit(sequencer.offer("a", 2, "again"))
      yield* sequencer.offer("b", 0, "b0")
      yield* Effect.exit(sequencer.offer("b", 0, "again"))
      expect((yield* valueOf(M.sequencerBuffered, name)).value).toBe(2)
      expect((yield* valueOf(M.sequencerDuplicates, name)).count).toBe(2)
      // a0 and a1 never come: one gap.
      yield* TestClock.adjust("1 second")
      expect((yield* valueOf(M.sequencerGaps, name)).count).toBe(1)
      expect((yield* valueOf(M.sequencerBuffered, name)).value).toBe(0)
    }))

  itScoped("without a name, nothing is recorded", () =>
    Effect.gen(function*() {
      const recorded = Effect.map(
        metricSnapshot,
        (entries) => entries.filter((entry) => entry.name.startsWith("effect_ordered_sequencer")).map((entry) => entry.state)
      )
      const before = yield* recorded
      const sequencer = yield* Sequencer.make<string>({ capacity: 8 })
      yield* sequencer.offer("a", 2, "a2")
      yield* Effect.exit(sequencer.offer("a", 2, "a2"))
      expect(yield* recorded).toEqual(before)
    }))
})
