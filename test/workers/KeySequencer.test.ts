/**
 * `effect-ordered/workers` `KeySequencer` against an in-memory stand-in for a
 * Durable Object's storage (the real one runs in test/edge/runtimes.test.ts,
 * on workerd): order, refusals, what is written, restarts, gaps on the Clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { Sequencer } from "../../src/index.ts"
import { KeySequencer } from "../../src/workers/index.ts"
import { IllegalArgumentError, defectOf, TestClock, fork, yieldNow, inScope, itScoped } from "../utils/line.ts"

/** A storage whose writes are recorded, one `put` per entry of `puts`. */
const memoryStorage = () => {
  const entries = new Map<string, unknown>()
  const puts: Array<Record<string, unknown>> = []
  const storage: KeySequencer.DurableObjectStorage = {
    get: async <T>(key: string) => entries.get(key) as T | undefined,
    put: async (values) => {
      puts.push(values)
      for (const [key, value] of Object.entries(values)) entries.set(key, value)
    }
  }
  return { storage, entries, puts }
}

/** A sequencer of strings that records what it applies; `fail` values fail their apply. */
const recording = (storage: KeySequencer.DurableObjectStorage, options?: { readonly gapTimeout?: Duration.DurationInput }) =>
  Effect.gen(function*() {
    const applied: Array<KeySequencer.Released<string>> = []
    const sequencer = yield* KeySequencer.make({
      storage,
      key: "k",
      capacity: 4,
      gapTimeout: options?.gapTimeout,
      apply: (released: KeySequencer.Released<string>) =>
        released.value === "fail"
          ? Effect.fail("refused" as const)
          : Effect.sync(() => {
            applied.push(released)
            return `${released.value}@${released.sequence}`
          }),
      state: () => ({ log: applied.map((r) => r.value).join(",") })
    })
    return { sequencer, applied }
  })

describe("KeySequencer", () => {
  itScoped("applies out-of-order values in sequence order and answers each caller with its own result", () =>
    Effect.gen(function*() {
      const { puts, storage } = memoryStorage()
      const { applied, sequencer } = yield* recording(storage)
      const third = yield* fork(sequencer.submit(2, "c"))
      const second = yield* fork(sequencer.submit(1, "b"))
      yield* yieldNow
      expect(applied).toEqual([])
      expect(yield* sequencer.submit(0, "a")).toBe("a@0")
      expect(yield* Fiber.join(second)).toBe("b@1")
      expect(yield* Fiber.join(third)).toBe("c@2")
      expect(applied.map((r) => r.value)).toEqual(["a", "b", "c"])
      // one write per applied value: the next sequence with the state as it stood then
      expect(puts).toEqual([
        { log: "a", "effect-ordered/next": 1 },
        { log: "a,b", "effect-ordered/next": 2 },
        { log: "a,b,c", "effect-ordered/next": 3 }
      ])
    }))

  itScoped("refuses duplicates and sequences beyond the capacity, changing nothing", () =>
    Effect.gen(function*() {
      const { puts, storage } = memoryStorage()
      const { applied, sequencer } = yield* recording(storage)
      const held = yield* fork(sequencer.submit(1, "b"))
      yield* yieldNow
      const heldTwice = yield* Effect.flip(sequencer.submit(1, "b"))
      expect(heldTwice).toBeInstanceOf(Sequencer.DuplicateSequenceError)
      expect(heldTwice).toMatchObject({ key: "k", sequence: 1, next: 0 })
      const tooFar = yield* Effect.flip(sequencer.submit(4, "e"))
      expect(tooFar).toMatchObject({ _tag: "SequenceOutOfWindowError", sequence: 4, next: 0, capacity: 4 })
      yield* sequencer.submit(0, "a")
      yield* Fiber.join(held)
      expect(yield* Effect.flip(sequencer.submit(0, "a"))).toMatchObject({ _tag: "DuplicateSequenceError", next: 2 })
      expect(applied.map((r) => r.value)).toEqual(["a", "b"])
      expect(puts.length).toBe(2)
    }))

  it.effect("after a restart, goes on from the stored next sequence and refuses the spent ones", () =>
    Effect.gen(function*() {
      const { entries, storage } = memoryStorage()
      const first = yield* Scope.make()
      const before = yield* inScope(recording(storage), first)
      yield* before.sequencer.submit(0, "a")
      yield* before.sequencer.submit(1, "b")
      yield* Scope.close(first, Exit.void) // the object is evicted

      yield* Effect.scoped(Effect.gen(function*() {
        const { applied, sequencer } = yield* recording(storage)
        expect(yield* sequencer.next).toBe(2)
        const spent = yield* Effect.flip(sequencer.submit(1, "b"))
        expect(spent).toMatchObject({ _tag: "DuplicateSequenceError", key: "k", sequence: 1, next: 2 })
        expect(yield* sequencer.submit(2, "c")).toBe("c@2")
        expect(applied.map((r) => r.value)).toEqual(["c"])
      }))
      expect(entries.get("effect-ordered/next")).toBe(3)
    }))

  itScoped("a gap is given up on after gapTimeout on the Clock: the value after it carries `missing`, the key goes on", () =>
    Effect.gen(function*() {
      const { storage } = memoryStorage()
      const { applied, sequencer } = yield* recording(storage, { gapTimeout: "1 second" })
      const late = yield* fork(sequencer.submit(2, "c"))
      yield* TestClock.adjust("999 millis")
      expect(applied).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(late)).toBe("c@2")
      expect(applied).toEqual([{ sequence: 2, value: "c", missing: { from: 0, to: 1 } }])
      expect(yield* sequencer.submit(3, "d")).toBe("d@3")
      expect(applied[1]).toEqual({ sequence: 3, value: "d", missing: undefined })
      expect(yield* Effect.flip(sequencer.submit(0, "a"))).toMatchObject({ _tag: "DuplicateSequenceError", next: 4 })
    }))

  itScoped("values waiting their turn to be applied hold the gap clock: late is not lost, a real gap goes gapTimeout after the key caught up", () =>
    Effect.gen(function*() {
      const { storage } = memoryStorage()
      const applied: Array<[KeySequencer.Released<string>, number]> = []
      const sequencer = yield* KeySequencer.make({
        storage,
        key: "k",
        capacity: 8,
        gapTimeout: "1 second",
        // each value takes 800 ms to apply: a backlog of released values builds up
        apply: (released: KeySequencer.Released<string>) =>
          Effect.sleep("800 millis").pipe(
            Effect.andThen(Clock.currentTimeMillis),
            Effect.map((now) => {
              applied.push([released, now])
            })
          )
      })
      const callers = yield* Effect.forEach([0, 1, 2, 5], (sequence) => fork(sequencer.submit(sequence, `v${sequence}`)))
      yield* TestClock.adjust("2 seconds")
      // 3 arrives 2 s after 5, while 1 and 2 are still being applied: not given up on
      callers.push(yield* fork(sequencer.submit(3, "v3")))
      yield* TestClock.adjust("1199 millis") // t = 3199: 3 applied, the key caught up at 3200
      yield* TestClock.adjust("1 millis")
      expect(applied.map(([r, at]) => [r.sequence, r.missing, at])).toEqual([[0, undefined, 800], [1, undefined, 1600], [
        2,
        undefined,
        2400
      ], [3, undefined, 3200]])
      yield* TestClock.adjust("999 millis") // t = 4199: 4 is really missing, but not for a second yet
      expect(applied).toHaveLength(4)
      yield* TestClock.adjust("801 millis") // given up at 4200, 5 applied 800 ms later
      expect(applied[4]).toEqual([{ sequence: 5, value: "v5", missing: { from: 4, to: 4 } }, 5000])
      yield* Effect.forEach(callers, Fiber.join)
    }))

  itScoped("a shared backlog held by what feeds the object holds its gaps (another key's request on its way)", () =>
    Effect.gen(function*() {
      const { storage } = memoryStorage()
      const backlog = yield* Sequencer.makeBacklog
      const applied: Array<KeySequencer.Released<string>> = []
      const sequencer = yield* KeySequencer.make({
        storage,
        key: "k",
        capacity: 4,
        gapTimeout: "1 second",
        backlog,
        apply: (released: KeySequencer.Released<string>) => Effect.sync(() => applied.push(released))
      })
      const late = yield* fork(sequencer.submit(1, "b")) // 0 is still in the worker, forwarded after 3 s
      const release = Sequencer.unsafeHoldGaps(backlog)
      yield* TestClock.adjust("3 seconds")
      expect(applied).toEqual([])
      release()
      yield* TestClock.adjust("999 millis")
      expect(applied).toEqual([])
      yield* TestClock.adjust("1 millis") // 1 s after the backlog's end: 0 is really missing
      yield* Fiber.join(late)
      expect(applied).toEqual([{ sequence: 1, value: "b", missing: { from: 0, to: 0 } }])
    }))

  itScoped("a failed apply is its caller's error; its sequence is spent and written, and the key goes on", () =>
    Effect.gen(function*() {
      const { entries, storage } = memoryStorage()
      const { applied, sequencer } = yield* recording(storage)
      expect(yield* Effect.flip(sequencer.submit(0, "fail"))).toBe("refused")
      expect(entries.get("effect-ordered/next")).toBe(1)
      expect(yield* sequencer.submit(1, "b")).toBe("b@1")
      expect(applied.map((r) => r.value)).toEqual(["b"])
    }))

  itScoped("an interrupted caller leaves its value accepted: it is applied in its turn", () =>
    Effect.gen(function*() {
      const { storage } = memoryStorage()
      const { applied, sequencer } = yield* recording(storage)
      const caller = yield* fork(sequencer.submit(1, "b"))
      yield* yieldNow
      yield* Fiber.interrupt(caller)
      yield* sequencer.submit(0, "a")
      // "a"'s caller may resume before "b" is applied (effect 4 does): "c" comes after "b" in any case
      expect(yield* sequencer.submit(2, "c")).toBe("c@2")
      expect(applied.map((r) => r.value)).toEqual(["a", "b", "c"])
      expect(yield* sequencer.next).toBe(3)
    }))

  itScoped("bad options die with IllegalArgumentException naming the option", () =>
    Effect.gen(function*() {
      const { storage } = memoryStorage()
      const apply = () => Effect.succeed(1)
      const cases: Array<[unknown, string]> = [
        [{ storage, key: "", capacity: 4, apply }, "options.key"],
        [{ storage: {}, key: "k", capacity: 4, apply }, "options.storage.get"],
        [{ storage, key: "k", capacity: 0, apply }, "options.capacity"],
        [{ storage, key: "k", capacity: 4, apply: 1 }, "options.apply"],
        [{ storage, key: "k", capacity: 4, apply, storageKey: "" }, "options.storageKey"]
      ]
      for (const [options, name] of cases) {
        const exit = yield* Effect.exit(KeySequencer.make(options as KeySequencer.Options<unknown, number, never, never>))
        expect(Exit.isFailure(exit) && Option.isSome(defectOf(exit.cause))).toBe(true)
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(defect).toBeInstanceOf(IllegalArgumentError)
        expect((defect as Error).message).toContain(`\`${name}\``)
      }
    }))
})
