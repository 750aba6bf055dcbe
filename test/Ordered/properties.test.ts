import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { makeActionProbe } from "../utils/gauge.ts"
import { hedgeOption } from "../utils/hedge.ts"
import { failureOf, fc } from "../utils/line.ts"

/**
 * Properties over random workloads, run in virtual time (deterministic and
 * fast): ordering, exactly-once emission and every bound, in all three orders,
 * with and without keys, with and without failures, with a fixed, unbounded
 * or automatic window, with and without hedging (a hedged copy draws its own
 * latency; a failing action fails on both attempts).
 */

interface Workload {
  readonly latencies: ReadonlyArray<number>
  /** A hedged copy's latency. */
  readonly copyLatencies: ReadonlyArray<number>
  readonly failing: ReadonlySet<number>
  readonly keys: number
  readonly concurrency: number
  readonly window: number
  readonly order: "total" | "key" | "none"
  readonly keyConcurrency: number
  /** `window: "auto"` with `maxWindow` = `window`. */
  readonly auto: boolean
  readonly hedge: Ordered.Options<number>["hedge"]
}

const workload = (withFailures: boolean): fc.Arbitrary<Workload> =>
  fc.record({
    latencies: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 0, maxLength: 80 }),
    copyLatencies: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 80, maxLength: 80 }),
    auto: fc.boolean(),
    hedge: hedgeOption,
    failing: withFailures ? fc.uniqueArray(fc.integer({ min: 0, max: 79 }), { maxLength: 3 }) : fc.constant([]),
    keys: fc.integer({ min: 0, max: 5 }),
    concurrency: fc.integer({ min: 1, max: 8 }),
    windowExtra: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constant(Infinity)),
    order: fc.constantFrom("total" as const, "key" as const, "none" as const),
    keyConcurrency: fc.integer({ min: 1, max: 3 })
  }).map(({ failing, keys, order, windowExtra, ...rest }) => ({
    ...rest,
    failing: new Set(failing),
    // key order needs a key; 0 keys means "no key option"
    keys: order === "key" ? Math.max(keys, 1) : keys,
    order,
    // An automatic window needs a finite bound.
    auto: rest.auto && windowExtra !== Infinity,
    window: rest.concurrency + windowExtra
  }))

const options = (w: Workload): Ordered.Options<number> => ({
  concurrency: w.concurrency,
  ...(w.auto ? { window: "auto", maxWindow: w.window } : { window: w.window }),
  order: w.order,
  hedge: w.hedge,
  ...(w.keys > 0 ? { key: keyOf(w), keyConcurrency: w.keyConcurrency } : {})
})

const keyOf = (w: Workload) => (n: number) => n % w.keys

const run = (w: Workload) => {
  const probe = makeActionProbe(w.keys > 0 ? keyOf(w) : () => 0)
  let pulled = 0
  let emittedCount = 0
  let peakTaken = 0
  const emitted: Array<number> = []
  const program = Stream.range(0, w.latencies.length - 1).pipe(
    Stream.take(w.latencies.length),
    Stream.rechunk(1),
    Stream.tap(() => Effect.sync(() => pulled++)),
    Ordered.mapEffect(
      (n, index) =>
        probe.track(
          n,
          Effect.flatMap(Ordered.currentAttempt, (attempt) => {
            expect(index).toBe(n)
            return Effect.andThen(
              Effect.sleep(Duration.millis((attempt === 1 ? w.latencies : w.copyLatencies)[n])),
              w.failing.has(n) ? Effect.fail(n) : Effect.succeed(n)
            )
          })
        ),
      options(w)
    ),
    Stream.runForEach((n) =>
      Effect.sync(() => {
        // taken from upstream and not yet emitted, at the moment of emission
        peakTaken = Math.max(peakTaken, pulled - emittedCount)
        emittedCount++
        emitted.push(n)
      })
    )
  )
  const { exit } = runVirtual(program)
  for (const [n, attempts] of probe.started) {
    // at most one hedged copy, each attempt ended once
    expect(attempts).toBeLessThanOrEqual(w.hedge === undefined ? 1 : 2)
    expect(probe.finalized.get(n)).toBe(attempts)
  }
  return {
    exit,
    emitted,
    peakRunning: probe.peak(),
    peakPerKey: probe.peakPerKey(),
    peakTaken,
    running: probe.current()
  }
}

const byKey = (w: Workload, xs: ReadonlyArray<number>) => {
  const groups = new Map<number, Array<number>>()
  for (const n of xs) {
    const k = w.keys > 0 ? keyOf(w)(n) : 0
    groups.set(k, [...(groups.get(k) ?? []), n])
  }
  return groups
}

describe("properties", () => {
  it("without failures: every input emitted exactly once, in order, within every bound", () => {
    fc.assert(
      fc.property(workload(false), (w) => {
        const { emitted, exit, peakPerKey, peakRunning, peakTaken, running } = run(w)
        const all = w.latencies.map((_, i) => i)
        expect(Exit.isSuccess(exit)).toBe(true)
        expect([...emitted].sort((a, b) => a - b)).toEqual(all)
        if (w.order === "total") expect(emitted).toEqual(all)
        if (w.order === "key") {
          for (const group of byKey(w, emitted).values()) expect(group).toEqual([...group].sort((a, b) => a - b))
        }
        expect(peakRunning).toBeLessThanOrEqual(w.concurrency)
        if (w.keys > 0) expect(peakPerKey).toBeLessThanOrEqual(w.keyConcurrency)
        // the window, plus the one element upstream may have handed over and not yet admitted
        expect(peakTaken).toBeLessThanOrEqual(w.window + 1)
        expect(running).toBe(0)
      }),
      { numRuns: 300 }
    )
  })

  it("with failures: total order emits exactly the prefix before the first failure and fails with it", () => {
    fc.assert(
      fc.property(workload(true), (w) => {
        const { emitted, exit, peakRunning, running } = run(w)
        const firstFailure = Math.min(...[...w.failing].filter((i) => i < w.latencies.length))
        expect(running).toBe(0)
        expect(peakRunning).toBeLessThanOrEqual(w.concurrency)
        if (!Number.isFinite(firstFailure)) {
          expect(Exit.isSuccess(exit)).toBe(true)
          return
        }
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(failureOf(exit.cause)) : undefined
        // exactly once, never a failing input
        expect(new Set(emitted).size).toBe(emitted.length)
        for (const n of emitted) expect(w.failing.has(n)).toBe(false)
        if (w.order === "total") {
          expect(error).toBe(firstFailure)
          expect(emitted).toEqual(Array.from({ length: firstFailure }, (_, i) => i))
        } else {
          expect(w.failing.has(error as number)).toBe(true)
          if (w.order === "key") {
            for (const group of byKey(w, emitted).values()) expect(group).toEqual([...group].sort((a, b) => a - b))
          }
        }
      }),
      { numRuns: 300 }
    )
  })

  it("regression: a consumer that takes results wakes the parked workers, which take more once it has emitted them", () => {
    // Found by the first property on effect 4, whose resumed fibers run on the resumer's stack: the consumer
    // took 0–2 and woke the parked workers, which took 3 and 4 before it emitted 0.
    const w: Workload = {
      latencies: [1, 0, 0, 0, 0],
      copyLatencies: Array.from({ length: 80 }, () => 0),
      failing: new Set(),
      keys: 0,
      concurrency: 3,
      window: 3,
      order: "total",
      keyConcurrency: 1,
      auto: false,
      hedge: undefined
    }
    const { emitted, peakTaken } = run(w)
    expect(emitted).toEqual([0, 1, 2, 3, 4])
    expect(peakTaken).toBeLessThanOrEqual(w.window + 1)
  })

  it("regression: room the consumer frees recruits a worker when a hedge's loser left its place empty", () => {
    // Found by the property below on effect 4: at 1 ms action 0 wins over its hedged copy, whose worker is retired,
    // and the consumer's take of 0 and 1 frees room for action 3 with no worker parked to wake; 3 waited for
    // action 2 to end (3 ms in all) instead of starting at once and ending with 2, at 2 ms.
    const latencies = [1, 0, 2, 1]
    const f = (n: number) => Effect.as(Effect.sleep(Duration.millis(latencies[n])), n)
    const { elapsedMillis, exit } = runVirtual(Stream.runCollect(Ordered.mapEffect(
      Stream.fromIterable([0, 1, 2, 3]),
      f,
      { concurrency: 3, window: 3, hedge: { quantile: 0.05, minSamples: 1 } }
    )))
    expect(Exit.map(exit, Array.from)).toEqual(Exit.succeed([0, 1, 2, 3]))
    expect(elapsedMillis).toBe(2)
  })

  // forEach takes each result as it is released, mapEffect's consumer once it runs: the same moments in virtual
  // time, but another order of events within one, so the orders that release by completion (key, none) may
  // interleave keys and start ready actions in another order, and a hedge may be decided at another event.
  it("forEach agrees with mapEffect on the same workload: the same results by the order's rule, within concurrency; in total order without hedging, the same makespan", () => {
    fc.assert(
      fc.property(workload(false), (w) => {
        let running = 0
        let peakRunning = 0
        const f = (n: number) =>
          Effect.as(Effect.sleep(Duration.millis(w.latencies[n])), n).pipe(
            Effect.ensuring(Effect.sync(() => running--)),
            (action) => Effect.andThen(Effect.sync(() => peakRunning = Math.max(peakRunning, ++running)), action)
          )
        const inputs = w.latencies.map((_, i) => i)
        const viaForEach = runVirtual(Ordered.forEach(inputs, f, options(w)))
        expect(peakRunning).toBeLessThanOrEqual(w.concurrency)
        const viaStream = runVirtual(Stream.runCollect(Ordered.mapEffect(Stream.fromIterable(inputs), f, options(w))))
        const a = Exit.map(viaForEach.exit, (xs) => xs as ReadonlyArray<number>)
        const b = Exit.map(viaStream.exit, (xs) => Array.from(xs as Iterable<number>))
        const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((x, y) => x - y)
        if (w.order === "total") expect(a).toEqual(b)
        else if (Exit.isSuccess(a) && Exit.isSuccess(b)) {
          if (w.order === "key") expect(byKey(w, a.value)).toEqual(byKey(w, b.value))
          else expect(sorted(a.value)).toEqual(sorted(b.value))
        } else expect(a._tag).toBe(b._tag)
        if (w.order === "total" && w.hedge === undefined) expect(viaForEach.elapsedMillis).toBe(viaStream.elapsedMillis)
      }),
      { numRuns: 150 }
    )
  })
})
