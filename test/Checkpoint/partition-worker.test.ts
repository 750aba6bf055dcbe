import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import { Checkpoint } from "../../src/index.ts"
import { FanOut } from "../../src/internal/fanOut.ts"
import * as Worker from "../../src/internal/partitionWorker.ts"
import { makeGauge, makeKeyedGauge } from "../utils/gauge.ts"
import { TestClock, countingFibers, failureOf, fc, fork, isInterrupted, isTimeoutError, testServices, yieldNow } from "../utils/line.ts"

/** A log record: an offset, a key, and a payload (a JSON action, or not). */
interface Rec extends Worker.WorkerRecord {
  readonly position: number
  readonly payload: string
}
interface Action {
  readonly seq: number
  readonly latency: number
  /** Fails this many attempts (-1: always; "never": the attempt never ends). */
  readonly failures?: number | "never"
}

const log = (actions: ReadonlyArray<{ key: string; action: Action | string }>): Array<Rec> =>
  actions.map(({ action, key }, position) => ({
    position,
    key,
    payload: typeof action === "string" ? action : JSON.stringify(action)
  }))

class Boom {
  readonly _tag = "Boom"
  constructor(readonly message: string) {}
}

/** Runs the worker over `records` with a recording sink; time is the TestClock. With `interruptAt`, it is interrupted then. */
const runWorker = (
  records: ReadonlyArray<Rec>,
  overrides: Partial<Worker.WorkerOptions<Rec, Action, number, Boom, never, Boom, never>> = {},
  interruptAt?: Duration.Duration
) =>
  Effect.gen(function*() {
    const committed: Array<{ key: string; seq: number }> = []
    const batches: Array<number> = []
    const deadLetters: Array<{ position: number; attempts: number; error: string }> = []
    const acknowledged: Array<number> = []
    const attempts = new Map<number, number>()
    const gauge = makeGauge()
    const keyed = makeKeyedGauge()
    const options: Worker.WorkerOptions<Rec, Action, number, Boom, never, Boom, never> = {
      concurrency: 4,
      window: 12,
      order: "key",
      decode: (record) => Effect.try(() => JSON.parse(record.payload) as Action),
      process: (action, record) =>
        keyed.track(record.key, gauge.track(Effect.suspend(() => {
          const n = (attempts.get(record.position) ?? 0) + 1
          attempts.set(record.position, n)
          if (action.failures === "never") return Effect.never
          const failing = action.failures === -1 || n <= (action.failures ?? 0)
          return Effect.andThen(
            Effect.sleep(Duration.millis(action.latency)),
            failing ? Effect.fail(new Boom(`boom at ${record.position} (attempt ${n})`)) : Effect.succeed(action.seq)
          )
        }))),
      retry: Schedule.recurs(2),
      timeout: undefined,
      poison: "dead-letter",
      commit: {
        _tag: "each",
        commit: ({ record, result }) => Effect.sync(() => committed.push({ key: record.key, seq: result }))
      },
      deadLetter: ({ attempts, error, record }) =>
        Effect.sync(() =>
          deadLetters.push({ position: record.position, attempts, error: (error as { message: string }).message })
        ),
      beforeCommit: Effect.void,
      acknowledge: (finished) =>
        Effect.sync(() => {
          for (const record of finished) acknowledged.push(record.position)
        }),
      ...overrides
    }
    const batched: typeof options = overrides.commit?._tag === "batch"
      ? {
        ...options,
        commit: {
          _tag: "batch",
          // A sink call takes a millisecond, as a write does: what is released meanwhile waits for the next one
          // (an instant sink would see only the results that end at the same moment, and effect 4's TestClock
          // wakes those one at a time, each to be committed before the next wakes).
          commit: (processed) =>
            Effect.andThen(
              Effect.sleep(Duration.millis(1)),
              Effect.sync(() => {
                batches.push(processed.length)
                for (const { record, result } of processed) committed.push({ key: record.key, seq: result })
              })
            )
        }
      }
      : options
    const fiber = yield* fork(Worker.run(Stream.fromIterable(records), batched))
    yield* TestClock.adjust(interruptAt ?? Duration.hours(1))
    if (interruptAt !== undefined) yield* Fiber.interrupt(fiber)
    const exit = yield* Fiber.await(fiber)
    return { exit, committed, batches, deadLetters, acknowledged, attempts, peak: gauge.peak(), keyed }
  })

const perKey = (committed: ReadonlyArray<{ key: string; seq: number }>) => {
  const out: Record<string, Array<number>> = {}
  for (const { key, seq } of committed) (out[key] ??= []).push(seq)
  return out
}

/** Per key, seq counts from 1 in log order; latencies vary so that completion order differs from log order. */
const interleaved = (count: number, keys: number, latency: (i: number) => number) => {
  const seqs = new Map<string, number>()
  const actions: Array<{ key: string; action: Action }> = []
  for (let i = 0; i < count; i++) {
    const key = `k${(i * 7) % keys}`
    const seq = (seqs.get(key) ?? 0) + 1
    seqs.set(key, seq)
    actions.push({ key, action: { seq, latency: latency(i) } })
  }
  return actions
}

describe("partition worker", () => {
  it.effect("commits per key in log order, within the concurrency bound, one action of a key at a time", () =>
    Effect.gen(function*() {
      const actions = interleaved(60, 5, (i) => (i * 37) % 23)
      const { acknowledged, committed, exit, keyed, peak } = yield* runWorker(log(actions))
      expect(Exit.isSuccess(exit)).toBe(true)
      const expected = perKey(actions.map(({ action, key }) => ({ key, seq: action.seq })))
      expect(perKey(committed)).toEqual(expected)
      expect(peak).toBe(4)
      expect(keyed.peak()).toBe(1)
      expect([...acknowledged].sort((a, b) => a - b)).toEqual(actions.map((_, i) => i))
    }))

  it.effect("order \"partition\": commits in log order across keys; \"none\": every record once", () =>
    Effect.gen(function*() {
      const actions = interleaved(30, 3, (i) => (i * 13) % 17)
      const total = yield* runWorker(log(actions), { order: "partition" })
      expect(total.committed).toEqual(actions.map(({ action, key }) => ({ key, seq: action.seq })))
      const none = yield* runWorker(log(actions), { order: "none" })
      expect(none.committed).toHaveLength(30)
      expect(new Set(none.committed.map(({ key, seq }) => `${key}#${seq}`)).size).toBe(30)
    }))

  it.effect("retries a failed attempt, then dead-letters it and lets its key move on", () =>
    Effect.gen(function*() {
      const records = log([
        { key: "a", action: { seq: 1, latency: 1 } },
        { key: "a", action: { seq: 2, latency: 1, failures: -1 } },
        { key: "b", action: { seq: 1, latency: 5, failures: 1 } },
        { key: "a", action: { seq: 3, latency: 1 } }
      ])
      const { acknowledged, attempts, committed, deadLetters } = yield* runWorker(records)
      expect(perKey(committed)).toEqual({ a: [1, 3], b: [1] })
      expect(deadLetters).toEqual([{ position: 1, attempts: 3, error: "boom at 1 (attempt 3)" }])
      expect(attempts.get(2)).toBe(2)
      expect([...acknowledged].sort()).toEqual([0, 1, 2, 3])
    }))

  it.effect("a record that does not decode is poison without an attempt", () =>
    Effect.gen(function*() {
      const records = log([{ key: "a", action: "{not json" }, { key: "a", action: { seq: 2, latency: 1 } }])
      const { attempts, committed, deadLetters } = yield* runWorker(records)
      expect(deadLetters.map((d) => [d.position, d.attempts])).toEqual([[0, 0]])
      expect(attempts.get(0)).toBeUndefined()
      expect(committed).toEqual([{ key: "a", seq: 2 }])
    }))

  it.effect("a timed-out attempt is a failed one: retried, then poison; the other keys never wait for it", () =>
    Effect.gen(function*() {
      const records = log([
        { key: "stuck", action: { seq: 1, latency: 0, failures: "never" } },
        ...interleaved(40, 4, (i) => i % 7)
      ])
      const sinkCalls: Array<string> = []
      const poisoned: Array<{ error: unknown; attempts: number }> = []
      const { attempts, exit } = yield* runWorker(records, {
        timeout: Duration.millis(500),
        retry: Schedule.recurs(1),
        commit: { _tag: "each", commit: ({ record }) => Effect.sync(() => sinkCalls.push(record.key)) },
        deadLetter: ({ attempts, error, record }) =>
          Effect.sync(() => {
            sinkCalls.push(`dead-letter ${record.key}`)
            poisoned.push({ error, attempts })
          })
      })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(attempts.get(0)).toBe(2)
      expect(poisoned).toHaveLength(1)
      expect(poisoned[0].attempts).toBe(2)
      expect(isTimeoutError(poisoned[0].error)).toBe(true)
      // Every other key of the partition was committed while the stuck action was still running.
      expect(sinkCalls).toHaveLength(41)
      expect(sinkCalls[40]).toBe("dead-letter stuck")
    }))

  it.effect("timeout: each attempt ends at its deadline and fails once its finalizers have run; a slow one holds up no other", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const since = (f: (at: number) => void) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => f(now - start)))
      const finalized: Record<string, Array<number>> = { slow: [], stuck: [] }
      const deadLettered: Record<string, { at: number; attempts: number; error: unknown }> = {}
      // What the line's `Effect.timeout` fails with after as long, timed by the same adjustment of the TestClock.
      const reference = yield* fork(Effect.flip(Effect.timeout(Effect.never, Duration.millis(500))))
      const { exit } = yield* runWorker(log([{ key: "slow", action: { seq: 1, latency: 0 } }, { key: "stuck", action: { seq: 1, latency: 0 } }]), {
        timeout: Duration.millis(500),
        retry: Schedule.recurs(1),
        // Never ends; interrupted, "slow" takes 10 s to finalize.
        process: (_action, record) =>
          Effect.onInterrupt(Effect.never, () =>
            Effect.andThen(
              record.key === "slow" ? Effect.sleep(Duration.seconds(10)) : Effect.void,
              since((at) => finalized[record.key].push(at))
            )),
        deadLetter: ({ attempts, error, record }) => since((at) => void (deadLettered[record.key] = { at, attempts, error }))
      })
      expect(Exit.isSuccess(exit)).toBe(true)
      // The error `Effect.timeout` gives: its class and its message.
      const expected = yield* Fiber.join(reference)
      for (const key of ["slow", "stuck"]) {
        const { error } = deadLettered[key]
        expect(isTimeoutError(error)).toBe(true)
        expect((error as Error).message).toBe((expected as Error).message)
        deadLettered[key] = { ...deadLettered[key], error: undefined }
      }
      // Both are due at 500 ms: "stuck" ends then, and its retry at 1,000 ms, whatever "slow"'s finalizer takes.
      expect(finalized.stuck).toEqual([500, 1000])
      expect(deadLettered.stuck).toEqual({ at: 1000, attempts: 2, error: undefined })
      // "slow"'s attempt fails once its finalizer has run: its retry starts at 10,500 ms.
      expect(finalized.slow).toEqual([10_500, 21_000])
      expect(deadLettered.slow).toEqual({ at: 21_000, attempts: 2, error: undefined })
    }))

  it.effect("timeout: an interrupted worker interrupts the attempts it waits for, and ends after their finalizers", () =>
    Effect.gen(function*() {
      let finalized = 0
      const { exit } = yield* runWorker(
        log(interleaved(8, 4, () => 0)),
        {
          timeout: Duration.hours(1),
          // Finalizers that yield first: a worker that did not wait for them would end before they count.
          process: () =>
            Effect.onInterrupt(Effect.never, () =>
              Effect.andThen(Effect.forEach(Array.from({ length: 20 }), () => yieldNow, { discard: true }), Effect.sync(() => finalized++)))
        },
        Duration.seconds(1)
      )
      expect(isInterrupted(exit)).toBe(true)
      // One attempt per key was running (one at a time within a key); each was finalized before the worker ended.
      expect(finalized).toBe(4)
    }))

  it.effect("halt-key: the poison record and the rest of its key are neither committed nor acknowledged", () =>
    Effect.gen(function*() {
      const records = log([
        { key: "a", action: { seq: 1, latency: 1 } },
        { key: "b", action: { seq: 1, latency: 9 } },
        { key: "a", action: { seq: 2, latency: 1, failures: -1 } },
        { key: "a", action: { seq: 3, latency: 1 } },
        { key: "b", action: { seq: 2, latency: 1 } }
      ])
      for (const order of ["key", "partition"] as const) {
        const { acknowledged, attempts, committed, deadLetters } = yield* runWorker(records, { poison: "halt-key", order })
        expect(perKey(committed)).toEqual({ a: [1], b: [1, 2] })
        expect(deadLetters).toEqual([])
        expect([...acknowledged].sort()).toEqual([0, 1, 4])
        if (order === "key") expect(attempts.get(3)).toBeUndefined()
      }
    }))

  it.effect("batch: one sink call per released chunk, in per-key order, acknowledged after it", () =>
    Effect.gen(function*() {
      const actions = interleaved(80, 6, (i) => (i * 11) % 13)
      const { acknowledged, batches, committed } = yield* runWorker(log(actions), {
        commit: { _tag: "batch", commit: () => Effect.void }
      })
      expect(perKey(committed)).toEqual(perKey(actions.map(({ action, key }) => ({ key, seq: action.seq }))))
      expect(batches.reduce((a, b) => a + b)).toBe(80)
      // Released results queue up while a sink call runs: fewer calls than results.
      expect(batches.length).toBeLessThan(80)
      expect(acknowledged).toHaveLength(80)
    }))

  it.effect("a failing sink call fails the worker; nothing of its chunk is acknowledged", () =>
    Effect.gen(function*() {
      const records = log(interleaved(10, 2, () => 1))
      const { acknowledged, exit } = yield* runWorker(records, {
        commit: {
          _tag: "each",
          commit: ({ record }) => record.position === 5 ? Effect.fail(new Boom("sink down")) : Effect.void
        }
      })
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(new Boom("sink down"))
      expect(acknowledged).not.toContain(5)
    }))

  it.effect("beforeCommit runs before every sink call and its failure stops the worker", () =>
    Effect.gen(function*() {
      let calls = 0
      const { committed, exit } = yield* runWorker(log(interleaved(10, 2, () => 1)), {
        beforeCommit: Effect.suspend(() => ++calls > 3 ? Effect.fail(new Boom("lease expired")) : Effect.void)
      })
      expect(Exit.isFailure(exit)).toBe(true)
      expect(committed).toHaveLength(3)
    }))

  it.effect("acknowledged positions fold into a Checkpoint: contiguous up to a halted record, the rest above it", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ key: fc.integer({ min: 0, max: 4 }), latency: fc.integer({ min: 0, max: 20 }) }), {
              minLength: 1,
              maxLength: 40
            }),
            fc.nat(39),
            async (spec, poisonAt) => {
              const records = log(spec.map(({ key, latency }, i) => ({
                key: `k${key}`,
                action: { seq: i, latency, failures: i === poisonAt ? -1 : 0 }
              })))
              const { acknowledged } = await Effect.runPromise(
                Effect.provide(runWorker(records, { poison: "halt-key" }), testServices)
              )
              const checkpoint = acknowledged.reduce(Checkpoint.complete, Checkpoint.make())
              const firstHalted = poisonAt < records.length ? poisonAt : records.length
              expect(checkpoint.committed).toBe(firstHalted - 1)
              const haltedKey = records[poisonAt]?.key
              const expectedAbove = records
                .filter((r) => r.position > firstHalted && r.key !== haltedKey)
                .map((r) => r.position)
              expect(checkpoint.above).toEqual(expectedAbove)
            }
          ),
          { numRuns: 30 }
        )
      )
    }))
  it.effect("maxWindow: an automatic window grows past its start while one key's records fill it; a fixed one does not", () =>
    Effect.gen(function*() {
      // 20 records of a key whose first takes 1 s, then 20 instant records of other keys.
      const slow = Array.from({ length: 20 }, (_, i) => ({ key: "slow", action: { seq: i + 1, latency: i === 0 ? 1000 : 0 } }))
      const others = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, action: { seq: Math.floor(i / 4) + 1, latency: 1 } }))
      const commitTimes = (maxWindow: number | undefined) =>
        Effect.gen(function*() {
          const times: Array<number> = []
          const start = yield* Clock.currentTimeMillis
          const { exit } = yield* runWorker(log([...slow, ...others]), {
            window: 12,
            maxWindow,
            commit: {
              _tag: "each",
              commit: ({ record }) =>
                Effect.map(Clock.currentTimeMillis, (now) => void (record.key !== "slow" && times.push(now - start)))
            }
          })
          expect(Exit.isSuccess(exit)).toBe(true)
          return times
        })
      // Fixed at 12: the window holds only slow records until the first ends.
      const fixed = yield* commitTimes(undefined)
      expect(fixed).toHaveLength(20)
      expect(Math.min(...fixed)).toBeGreaterThanOrEqual(1000)
      // Automatic, up to 40: the others run and commit while the slow head is in flight.
      const auto = yield* commitTimes(40)
      expect(auto).toHaveLength(20)
      expect(Math.max(...auto)).toBeLessThan(1000)
    }))
})

describe("partition worker: the sink calls of a released chunk", () => {
  /** A released chunk, all processed: `keys` keys interleaved, `perKey` records each (`a1, b1, …, a2, b2, …`). */
  const chunk = (keys: number, perKey: number): Array<Worker.Outcome<Rec, Action, number>> =>
    Array.from({ length: keys * perKey }, (_, position) => {
      const key = String.fromCharCode(97 + (position % keys))
      const seq = Math.floor(position / keys) + 1
      return { _tag: "Processed", record: { position, key, payload: "" }, action: { seq, latency: 0 }, result: seq }
    })

  /** Commits `outcomes` with `commit` as the `each` sink under `order`; records when each call started and what was acknowledged. */
  const commitAll = (
    order: Worker.OrderBy,
    outcomes: ReadonlyArray<Worker.Outcome<Rec, Action, number>>,
    commit: (record: Rec) => Effect.Effect<void, Boom>,
    fanOut = new FanOut()
  ) =>
    Effect.gen(function*() {
      const started: Array<{ key: string; seq: number; at: number }> = []
      const acknowledged: Array<{ positions: Array<number>; at: number }> = []
      // Times from the call's start: the TestClock keeps the time earlier runs of the test left it at.
      const start = yield* Clock.currentTimeMillis
      const options: Worker.WorkerOptions<Rec, Action, number, Boom, never, Boom, never> = {
        concurrency: 4,
        window: 12,
        order,
        decode: () => Effect.die("not decoded here"),
        process: () => Effect.die("not processed here"),
        retry: Schedule.recurs(0),
        timeout: undefined,
        poison: "dead-letter",
        commit: {
          _tag: "each",
          commit: ({ record, result }) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              started.push({ key: record.key, seq: result, at: now - start })
              return commit(record)
            })
        },
        deadLetter: () => Effect.void,
        beforeCommit: Effect.void,
        acknowledge: (finished) =>
          Effect.map(Clock.currentTimeMillis, (now) =>
            void acknowledged.push({ positions: finished.map((r) => r.position), at: now - start }))
      }
      const fiber = yield* fork(Worker.commitChunk(options, new Set(), fanOut, outcomes))
      yield* TestClock.adjust(Duration.seconds(10))
      const exit = yield* Fiber.await(fiber)
      return { exit, started, acknowledged }
    })

  const startsOf = (started: ReadonlyArray<{ key: string; seq: number; at: number }>) => {
    const out: Record<string, Array<[number, number]>> = {}
    for (const { at, key, seq } of started) (out[key] ??= []).push([seq, at])
    return out
  }

  it.effect("order \"key\", a worker's first chunk: per key in log order, one call at a time, the keys concurrently: a slow key holds up no other", () =>
    Effect.gen(function*() {
      const gauge = makeGauge()
      const keyed = makeKeyedGauge()
      const { acknowledged, exit, started } = yield* commitAll(
        "key",
        chunk(3, 3),
        (record) => keyed.track(record.key, gauge.track(Effect.sleep(Duration.millis(record.key === "a" ? 100 : 1))))
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(startsOf(started)).toEqual({
        a: [[1, 0], [2, 100], [3, 200]],
        b: [[1, 0], [2, 1], [3, 2]],
        c: [[1, 0], [2, 1], [3, 2]]
      })
      expect(keyed.peak()).toBe(1)
      expect(gauge.peak()).toBe(3)
      // Acknowledged once, after the last call.
      expect(acknowledged).toEqual([{ positions: [0, 1, 2, 3, 4, 5, 6, 7, 8], at: 300 }])
    }))

  it.effect("order \"none\": every call at once; \"partition\": one after the other, in log order", () =>
    Effect.gen(function*() {
      const sleep = () => Effect.sleep(Duration.millis(10))
      const none = yield* commitAll("none", chunk(3, 3), sleep)
      expect(none.started.map(({ at }) => at)).toEqual(Array(9).fill(0))
      expect(none.acknowledged.map(({ at }) => at)).toEqual([10])
      const partition = yield* commitAll("partition", chunk(3, 3), sleep)
      expect(partition.started.map(({ key, seq }) => `${key}${seq}`)).toEqual(["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"])
      expect(partition.started.map(({ at }) => at)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80])
      expect(partition.acknowledged.map(({ at }) => at)).toEqual([90])
    }))

  it.effect("a failed call fails the chunk: the calls still running are interrupted, their finalizers run, nothing is acknowledged", () =>
    Effect.gen(function*() {
      let finalized = 0
      let interrupted = 0
      const { acknowledged, exit, started } = yield* commitAll("key", chunk(3, 3), (record) =>
        record.key === "b" && record.position === 4
          ? Effect.fail(new Boom("b2 refused"))
          : Effect.sleep(Duration.millis(record.key === "a" ? 100 : 1)).pipe(
            Effect.onInterrupt(() => Effect.sync(() => interrupted++)),
            Effect.ensuring(Effect.sync(() => finalized++))
          ))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(failureOf(exit.cause)).toEqual(Option.some(new Boom("b2 refused")))
      // b2 fails at 1 ms: a1 is still sleeping, and neither a2 nor b3 ever starts (c2, due then too, may).
      const calls = started.map(({ key, seq }) => `${key}${seq}`)
      expect(calls).toEqual(expect.arrayContaining(["a1", "b1", "b2", "c1"]))
      expect(calls.filter((call) => !["a1", "b1", "b2", "c1", "c2"].includes(call))).toEqual([])
      expect(interrupted).toBeGreaterThanOrEqual(1)
      expect(finalized).toBe(started.length - 1)
      expect(acknowledged).toEqual([])
    }))

  it.effect("after a chunk whose calls completed at once, a failed call fails the chunk: the keys after it never start, nothing is acknowledged", () =>
    Effect.gen(function*() {
      const fanOut = new FanOut()
      yield* commitAll("key", chunk(3, 2), () => Effect.void, fanOut)
      const { acknowledged, exit, started } = yield* commitAll(
        "key",
        chunk(3, 2),
        (record) => record.key === "b" ? Effect.fail(new Boom("b refused")) : Effect.void,
        fanOut
      )
      if (Exit.isFailure(exit)) expect(failureOf(exit.cause)).toEqual(Option.some(new Boom("b refused")))
      else expect.fail("the chunk succeeded")
      // One key after the other: a's calls, then b's first, which fails; c's never start.
      expect(started.map(({ key, seq }) => `${key}${seq}`)).toEqual(["a1", "a2", "b1"])
      expect(acknowledged).toEqual([])
    }))

  it.effect("calls that complete at once: from the second chunk on, no fiber per key; one that waits makes the rest concurrent again", () =>
    Effect.gen(function*() {
      const fanOut = new FanOut()
      const instantChunk = () => commitAll("key", chunk(60, 2), () => Effect.void, fanOut)
      // The first chunk runs its keys concurrently, and finds that every call completed at once.
      const [first, firstFibers] = countingFibers(instantChunk())
      expect(Exit.isSuccess((yield* first).exit)).toBe(true)
      expect(firstFibers.started()).toBeGreaterThan(60)
      const [second, secondFibers] = countingFibers(instantChunk())
      const { acknowledged, exit, started } = yield* second
      expect(Exit.isSuccess(exit)).toBe(true)
      // One key after the other, in the order of their first records, each key's records in log order.
      const keys = Array.from({ length: 60 }, (_, k) => String.fromCharCode(97 + k))
      expect(started.map(({ key, seq }) => `${key}${seq}`)).toEqual(keys.flatMap((key) => [`${key}1`, `${key}2`]))
      expect(acknowledged).toHaveLength(1)
      // As many as for a chunk of one key, whose calls run on the caller's fiber (`commitAll`'s own fork, the TestClock's).
      const [oneKey, oneKeyFibers] = countingFibers(commitAll("key", chunk(1, 120), () => Effect.void, fanOut))
      yield* oneKey
      expect(secondFibers.started()).toBe(oneKeyFibers.started())
      // Key a's calls wait 100 ms each: the other keys go on concurrently once its group has, and so does the next chunk.
      const sleeping = (record: Rec) => Effect.sleep(Duration.millis(record.key === "a" ? 100 : 1))
      const mixed = yield* commitAll("key", chunk(3, 2), sleeping, fanOut)
      expect(startsOf(mixed.started)).toEqual({ a: [[1, 0], [2, 100]], b: [[1, 200], [2, 201]], c: [[1, 200], [2, 201]] })
      const next = yield* commitAll("key", chunk(3, 2), sleeping, fanOut)
      expect(startsOf(next.started)).toEqual({ a: [[1, 0], [2, 100]], b: [[1, 0], [2, 1]], c: [[1, 0], [2, 1]] })
    }))
})
