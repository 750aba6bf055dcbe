import { describe, expect } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Stream } from "effect"
import { Ordered, Sequencer } from "../../src/index.ts"
import { TestClock, fork, outcome, itScoped, yieldNow } from "../utils/line.ts"

/** What an HTTP handler offers: the action, and a signal completed once it was applied. */
interface Action {
  readonly name: string
  readonly applied: Deferred.Deferred<number>
}

describe("Sequencer: composition with Ordered.mapEffect", () => {
  itScoped("stream → Ordered.mapEffect(order: key): each key applied in sequence order, keys in parallel", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<Action>({ capacity: 16, gapTimeout: "1 second" })
      const log: Array<string> = []
      const running = new Map<Sequencer.Key, number>()
      let peakPerKey = 0
      const apply = (event: Sequencer.Event<Action>) =>
        Sequencer.isGap(event)
          ? Effect.sync(() => log.push(`${event.key} gap ${event.from}-${event.to}`))
          : Effect.gen(function*() {
            running.set(event.key, (running.get(event.key) ?? 0) + 1)
            peakPerKey = Math.max(peakPerKey, running.get(event.key)!)
            yield* Effect.sleep(Duration.millis(100))
            running.set(event.key, running.get(event.key)! - 1)
            const now = yield* Clock.currentTimeMillis
            log.push(`${event.key} ${event.value.name}`)
            yield* Deferred.succeed(event.value.applied, now)
          })
      yield* sequencer.stream.pipe(
        Ordered.mapEffect(apply, { concurrency: 8, key: (event) => event.key, order: "key" }),
        Stream.runDrain,
        fork
      )
      // An HTTP handler: offer, then answer once the action was applied (or refused).
      const handle = (key: string, sequence: number, name: string) =>
        Effect.gen(function*() {
          const applied = yield* Deferred.make<number>()
          const offered = yield* outcome(sequencer.offer(key, sequence, { name, applied }))
          if (!offered.ok) return `${offered.error._tag}`
          return `applied at ${yield* Deferred.await(applied)}`
        })
      const requests = yield* Effect.forEach([
        handle("order-17", 1, "cancel"), // overtakes its place
        handle("order-17", 0, "place"),
        handle("order-18", 0, "place"),
        handle("order-18", 1, "cancel"),
        handle("order-19", 1, "amend"), // its place (sequence 0) is lost
        handle("order-17", 0, "place") // a retry
      ], fork)
      // Both places start at 0 ms. Effect 4's TestClock does not wait for fibers already running to settle before
      // it advances (only for those its wakes resume), so the pipeline is let get there first.
      for (let turn = 0; turn < 1_000 && running.size < 2; turn++) yield* yieldNow
      yield* TestClock.adjust(Duration.seconds(5))
      const answers = yield* Effect.forEach(requests, Fiber.join)
      expect(answers).toEqual([
        "applied at 200",
        "applied at 100",
        "applied at 100",
        "applied at 200",
        "applied at 1100",
        "DuplicateSequenceError"
      ])
      const ofKey = (key: string) => log.filter((line) => line.startsWith(`${key} `))
      expect(ofKey("order-17")).toEqual(["order-17 place", "order-17 cancel"])
      expect(ofKey("order-18")).toEqual(["order-18 place", "order-18 cancel"])
      expect(ofKey("order-19")).toEqual(["order-19 gap 0-0", "order-19 amend"])
      // Same key one at a time; the two keys ran side by side (both done at 200 ms, not 400).
      expect(peakPerKey).toBe(1)
    }))
})
