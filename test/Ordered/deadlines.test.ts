import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { Deadlines, type Watched } from "../../src/internal/deadlines.ts"
import * as runtime from "../../src/internal/runtime.ts"
import { TestClock, fork, settle, yieldNow } from "../utils/line.ts"

/**
 * The deadlines' watcher (`timeout`) on its own: entries are plain objects, and what it does at a deadline is
 * recorded with the Clock's reading. Found by review: on effect 3, a poke that came while the watcher was on its way
 * to sleep (the sides of its race not started yet) was lost, and a hedged copy due sooner expired late.
 */
describe("Deadlines", () => {
  const watcher = Effect.gen(function*() {
    const clock = yield* runtime.withFiber((fiber) => Effect.succeed(runtime.clockOf(fiber)))
    const expired: Array<readonly [string, number]> = []
    const names = new Map<Watched, string>()
    const deadlines = new Deadlines<Watched, never>(Duration.millis(100), clock, (entry) =>
      Effect.sync(() => void expired.push([names.get(entry)!, clock.millis()])))
    yield* fork(deadlines.loop)
    const entry = (name: string): Watched => {
      const watched: Watched = { due: undefined, earlier: undefined, later: undefined }
      names.set(watched, name)
      return watched
    }
    return { deadlines, entry, expired }
  })

  it.effect("an entry due sooner than the watcher's sleep, watched as that sleep starts, expires on time", () =>
    Effect.gen(function*() {
      const { deadlines, entry, expired } = yield* watcher
      yield* settle // parked: nothing watched
      yield* TestClock.adjust("10 millis")
      deadlines.watch(entry("action"), 10) // due at 110: pokes the watcher, which then sleeps until 110
      yield* yieldNow // the watcher runs and starts its race
      deadlines.watch(entry("copy"), 0) // a hedged copy of an action that started at 0: due at 100
      yield* settle
      yield* TestClock.adjust("95 millis")
      yield* settle
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(expired).toEqual([["copy", 100], ["action", 110]])
    }))

  it.effect("entries leave when unwatched, expire in deadline order, and the watcher parks once idle", () =>
    Effect.gen(function*() {
      const { deadlines, entry, expired } = yield* watcher
      const [a, b, c] = [entry("a"), entry("b"), entry("c")]
      deadlines.watch(a, 0)
      deadlines.watch(b, 5)
      deadlines.watch(c, 3) // threaded in between a and b
      deadlines.unwatch(a)
      yield* settle
      yield* TestClock.adjust("200 millis")
      yield* settle
      expect(expired).toEqual([["c", 103], ["b", 105]])
      expect([a, b, c].map((e) => e.due)).toEqual([undefined, undefined, undefined])
      // Nothing watched for a whole timeout: a later entry still expires on time (the watcher was parked, and poked).
      yield* TestClock.adjust("1 hour")
      yield* settle
      const now = 200 + 3_600_000
      deadlines.watch(entry("late"), now)
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(expired).toEqual([["c", 103], ["b", 105], ["late", now + 100]])
    }))
})
