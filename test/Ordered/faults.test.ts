import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option, Stream } from "effect"
import { ActionTimeoutError, Ordered } from "../../src/index.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { makeActionProbe } from "../utils/gauge.ts"
import { hedgeOption } from "../utils/hedge.ts"
import { countChunks, defectOf, failureOf, fc, countingFibers } from "../utils/line.ts"

/**
 * Fault injection, property-based over random scenarios, in virtual time
 * (deterministic: a failing seed replays exactly). Each scenario mixes
 * random latencies, typed failures, defects, timeouts that fire at the same
 * instant as completions, an upstream that fails mid-way, a consumer that is
 * interrupted, stops early or is slow — in all three orders, with and without
 * keys, with a fixed or automatic window, with and without hedging (a
 * hedged copy draws its own latency, and fails or dies as its action does).
 * For every run:
 * - what was emitted is a prefix of the expected output (total order), a
 *   prefix per key (key order), or a subset (no order) — never twice;
 * - every attempt that started either completed or was interrupted, and ran
 *   its finalizer exactly once; at most one hedged copy per action;
 * - no fiber forked under the run is still running afterwards;
 * - concurrency, keyConcurrency and window were never exceeded (the window
 *   counts what was taken from upstream and not yet handed downstream; a
 *   slow consumer still holds the chunk it was handed).
 */

type Outcome = "ok" | "fail" | "die"

interface Scenario {
  readonly latencies: ReadonlyArray<number>
  readonly copyLatencies: ReadonlyArray<number>
  readonly auto: boolean
  readonly hedge: Ordered.Options<number>["hedge"]
  readonly outcomes: ReadonlyArray<Outcome>
  readonly concurrency: number
  readonly windowExtra: number
  readonly order: "total" | "key" | "none"
  readonly keys: number
  readonly keyConcurrency: number
  /** Per-action timeout in ms; latencies equal to it tie with the timer. */
  readonly timeout: number | undefined
  /** Upstream fails after emitting this many elements. */
  readonly upstreamFailsAfter: number | undefined
  readonly consumer:
    | { readonly _tag: "drain" }
    | { readonly _tag: "take"; readonly count: number }
    | { readonly _tag: "interruptAt"; readonly millis: number }
    | { readonly _tag: "slow"; readonly millis: number }
}

const scenario: fc.Arbitrary<Scenario> = fc.integer({ min: 0, max: 50 }).chain((n) =>
  fc.record({
    latencies: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: n, maxLength: n }),
    copyLatencies: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: n, maxLength: n }),
    auto: fc.boolean(),
    hedge: hedgeOption,
    outcomes: fc.array(fc.constantFrom<Outcome>("ok", "ok", "ok", "ok", "ok", "ok", "fail", "die"), {
      minLength: n,
      maxLength: n
    }),
    concurrency: fc.integer({ min: 1, max: 6 }),
    windowExtra: fc.integer({ min: 0, max: 10 }),
    order: fc.constantFrom("total" as const, "key" as const, "none" as const),
    keys: fc.integer({ min: 0, max: 4 }),
    keyConcurrency: fc.integer({ min: 1, max: 3 }),
    timeout: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    upstreamFailsAfter: fc.option(fc.integer({ min: 0, max: n }), { nil: undefined }),
    consumer: fc.oneof(
      fc.constant({ _tag: "drain" as const }),
      fc.integer({ min: 0, max: n }).map((count) => ({ _tag: "take" as const, count })),
      fc.integer({ min: 0, max: 40 }).map((millis) => ({ _tag: "interruptAt" as const, millis })),
      fc.integer({ min: 1, max: 5 }).map((millis) => ({ _tag: "slow" as const, millis }))
    )
  })
).map((s) => ({ ...s, keys: s.order === "key" ? Math.max(1, s.keys) : s.keys }))

class Rejected {
  readonly _tag = "Rejected"
  constructor(readonly index: number) {}
}

const runScenario = (s: Scenario) => {
  const n = s.latencies.length
  const keyOf = (i: number) => i % Math.max(1, s.keys)
  const window = s.concurrency + s.windowExtra
  const probe = makeActionProbe(keyOf)
  const emitted: Array<number> = []
  let pulled = 0
  let handedOver = 0
  let peakTaken = 0

  const action = (i: number): Effect.Effect<number, Rejected> =>
    probe.track(
      i,
      Effect.flatMap(Ordered.currentAttempt, (attempt) =>
        Effect.sleep(Duration.millis((attempt === 1 ? s.latencies : s.copyLatencies)[i])).pipe(
          Effect.andThen(
            s.outcomes[i] === "ok"
              ? Effect.succeed(i)
              : s.outcomes[i] === "fail"
              ? Effect.fail(new Rejected(i))
              : Effect.die(new Error(`defect in ${i}`))
          )
        ))
    )

  const upstream = s.upstreamFailsAfter === undefined
    ? Stream.range(0, n - 1).pipe(Stream.take(n))
    : Stream.range(0, n - 1).pipe(Stream.take(s.upstreamFailsAfter), Stream.concat(Stream.fail("upstream" as const)))

  let stream = upstream.pipe(
    Stream.rechunk(1),
    // taken from upstream and not yet handed downstream, each time upstream gives one more
    Stream.tap(() => Effect.sync(() => (peakTaken = Math.max(peakTaken, ++pulled - handedOver)))),
    Ordered.mapEffect(action, {
      concurrency: s.concurrency,
      ...(s.auto ? { window: "auto", maxWindow: window } : { window }),
      hedge: s.hedge,
      order: s.order,
      ...(s.keys > 0 ? { key: keyOf, keyConcurrency: s.keyConcurrency } : {}),
      ...(s.timeout !== undefined ? { timeout: s.timeout } : {})
    }),
    countChunks((size) => {
      handedOver += size
    }),
    Stream.tap((i) => Effect.sync(() => emitted.push(i)))
  )
  if (s.consumer._tag === "take") stream = Stream.take(stream, s.consumer.count)
  if (s.consumer._tag === "slow") stream = Stream.tap(stream, () => Effect.sleep(Duration.millis(5)))
  let program: Effect.Effect<unknown, unknown> = Stream.runDrain(stream)
  if (s.consumer._tag === "interruptAt") program = Effect.timeout(program, Duration.millis(s.consumer.millis))

  const [counted, fibers] = countingFibers(program)
  const { exit } = runVirtual(counted)
  const stillRunning = fibers.running()
  return {
    exit,
    emitted,
    probe,
    peakTaken,
    stillRunning,
    window,
    keyOf
  }
}

/** Whether action `i` certainly ends the run: a failure, a defect, or a latency past the timeout. */
const certainlyFails = (s: Scenario, i: number) =>
  s.outcomes[i] !== "ok" || (s.timeout !== undefined && s.latencies[i] > s.timeout)

/** A latency equal to the timeout ties with it: either may win, both are correct. */
const ties = (s: Scenario, i: number) => s.timeout !== undefined && s.latencies[i] === s.timeout

describe("fault injection: Ordered.mapEffect", () => {
  it("never loses, duplicates or reorders; cleans up; stays within bounds", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = runScenario(s)
        const n = s.latencies.length

        // nothing emitted twice, nothing that did not succeed
        expect(new Set(r.emitted).size).toBe(r.emitted.length)
        for (const i of r.emitted) expect(s.outcomes[i]).toBe("ok")

        // ordering: a prefix (total), a prefix per key (key)
        if (s.order === "total") expect(r.emitted).toEqual(r.emitted.map((_, i) => i))
        if (s.order === "key" || (s.order === "total" && s.keys > 0)) {
          const byKey = new Map<number, Array<number>>()
          for (const i of r.emitted) byKey.set(r.keyOf(i), [...(byKey.get(r.keyOf(i)) ?? []), i])
          for (const [key, got] of byKey) {
            const expected = Array.from({ length: n }, (_, i) => i).filter((i) => r.keyOf(i) === key)
            expect(got).toEqual(expected.slice(0, got.length))
          }
        }

        // every started attempt completed or was interrupted, and was finalized exactly once
        const { completed, finalized, interrupted, started } = r.probe
        for (const [i, attempts] of started) {
          expect(attempts).toBeLessThanOrEqual(s.hedge === undefined ? 1 : 2)
          expect(finalized.get(i)).toBe(attempts)
          expect((completed.get(i) ?? 0) + (interrupted.get(i) ?? 0)).toBe(attempts)
        }
        expect(finalized.size).toBe(started.size)
        expect(r.stillRunning).toBe(0)

        // bounds
        expect(r.probe.peak()).toBeLessThanOrEqual(s.concurrency)
        if (s.keys > 0) expect(r.probe.peakPerKey()).toBeLessThanOrEqual(s.keyConcurrency)
        expect(r.peakTaken).toBeLessThanOrEqual(r.window + 1)

        // the outcome, where the scenario determines it (a hedged copy may beat a timeout)
        if (s.consumer._tag === "drain" && s.upstreamFailsAfter === undefined && (s.hedge === undefined || s.timeout === undefined)) {
          const indices = Array.from({ length: n }, (_, i) => i)
          const firstCertain = indices.find((i) => certainlyFails(s, i)) ?? n
          if (Exit.isSuccess(r.exit)) {
            expect(firstCertain).toBe(n)
            expect(r.emitted.length).toBe(n)
          } else if (s.order === "total") {
            // it failed at the first action that failed: a certain one, or a tie that lost
            const failedAt = r.emitted.length
            expect(failedAt).toBeLessThanOrEqual(firstCertain)
            expect(certainlyFails(s, failedAt) || ties(s, failedAt)).toBe(true)
            const failure = Option.getOrUndefined(failureOf(r.exit.cause)) ??
              Option.getOrUndefined(defectOf(r.exit.cause))
            // the failing action's own error, its defect, or its timeout
            if (failure instanceof Rejected) expect(failure.index).toBe(failedAt)
            else if (failure instanceof ActionTimeoutError) expect(failure.index).toBe(failedAt)
            else expect((failure as Error).message).toBe(`defect in ${failedAt}`)
          } else {
            expect(indices.some((i) => certainlyFails(s, i) || ties(s, i))).toBe(true)
          }
        }
        if (s.consumer._tag === "take" && Exit.isSuccess(r.exit)) {
          expect(r.emitted.length).toBe(Math.min(s.consumer.count, n))
        }
      }),
      { numRuns: 400 }
    )
  })

  it("actions already complete when f returns them (Effect.succeed / fail / die) keep every guarantee", () => {
    // They settle inside the worker's loop without a trip through the runtime:
    // the same order, failure and bound rules must hold, mixed with sleeping ones.
    const mixed = fc.record({
      kinds: fc.array(fc.constantFrom("instant", "instant", "instant", "sleep", "fail", "die", "throw"), {
        maxLength: 60
      }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      windowExtra: fc.integer({ min: 0, max: 6 }),
      order: fc.constantFrom("total" as const, "key" as const, "none" as const),
      keys: fc.integer({ min: 1, max: 3 }),
      keyConcurrency: fc.integer({ min: 1, max: 2 })
    })
    fc.assert(
      fc.property(mixed, (m) => {
        const window = m.concurrency + m.windowExtra
        const emitted: Array<number> = []
        // An instant action whose key is idle leaves without a Task; its key is still read, and only once.
        const keyReads = new Map<number, number>()
        const key = (i: number) => {
          keyReads.set(i, (keyReads.get(i) ?? 0) + 1)
          return i % m.keys
        }
        let pulled = 0
        let handedOver = 0
        let peakTaken = 0
        const stream = Stream.range(0, m.kinds.length - 1).pipe(
          Stream.take(m.kinds.length),
          Stream.rechunk(1),
          Stream.tap(() => Effect.sync(() => (peakTaken = Math.max(peakTaken, ++pulled - handedOver)))),
          Ordered.mapEffect((i): Effect.Effect<number, number> => {
            switch (m.kinds[i]) {
              case "instant":
                return Effect.succeed(i)
              case "sleep":
                return Effect.as(Effect.sleep(Duration.millis(i % 3)), i)
              case "fail":
                return Effect.fail(i)
              case "die":
                return Effect.die(i)
              default:
                throw i
            }
          }, { concurrency: m.concurrency, window, order: m.order, key, keyConcurrency: m.keyConcurrency }),
          countChunks((size) => {
            handedOver += size
          }),
          Stream.tap((i) => Effect.sync(() => emitted.push(i)))
        )
        const { exit } = runVirtual(Stream.runDrain(stream))
        const firstFailure = m.kinds.findIndex((k) => k === "fail" || k === "die" || k === "throw")
        expect(new Set(emitted).size).toBe(emitted.length)
        for (const i of emitted) expect(["instant", "sleep"]).toContain(m.kinds[i])
        for (const i of emitted) expect(keyReads.get(i)).toBe(1)
        expect(Math.max(0, ...keyReads.values())).toBeLessThanOrEqual(1)
        expect(peakTaken).toBeLessThanOrEqual(window + 1)
        if (firstFailure < 0) {
          expect(Exit.isSuccess(exit)).toBe(true)
          expect([...emitted].sort((a, b) => a - b)).toEqual(m.kinds.map((_, i) => i))
        } else {
          expect(Exit.isFailure(exit)).toBe(true)
        }
        if (m.order === "total") {
          expect(emitted).toEqual(emitted.map((_, i) => i))
          if (firstFailure >= 0 && Exit.isFailure(exit)) {
            expect(emitted.length).toBe(firstFailure)
            const failure = Option.getOrUndefined(failureOf(exit.cause)) ??
              Option.getOrUndefined(defectOf(exit.cause))
            expect(failure).toBe(firstFailure)
          }
        }
        if (m.order === "key") {
          for (let key = 0; key < m.keys; key++) {
            const got = emitted.filter((i) => i % m.keys === key)
            expect(got).toEqual(m.kinds.map((_, i) => i).filter((i) => i % m.keys === key).slice(0, got.length))
          }
        }
      }),
      { numRuns: 400 }
    )
  })
})
