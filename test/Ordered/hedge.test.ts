import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Option, Ref, Stream } from "effect"
import { ActionTimeoutError, Ordered, Simulation } from "../../src/index.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { makeActionProbe, makeGauge } from "../utils/gauge.ts"
import { TestClock, failureOf, failuresOf, fork } from "../utils/line.ts"

/**
 * `hedge`, in virtual time: which actions get a second copy and when, who
 * wins, what the loser's finalizers see, how failures and `timeout` combine,
 * and that the copy counts against `concurrency`.
 */

interface Attempt {
  readonly millis: number
  readonly fails?: boolean
}

/**
 * Runs `count` actions through `Ordered.forEach`; `plan(index, attempt)`
 * says how long each attempt takes and whether it fails. Records every
 * attempt's start time, and counts the finalizers of interrupted attempts
 * in a `Ref`.
 */
const run = (count: number, plan: (index: number, attempt: number) => Attempt, options: Ordered.Options<number>) => {
  const started: Array<readonly [index: number, attempt: number, at: number]> = []
  const probe = makeActionProbe(() => 0)
  const program = Effect.gen(function*() {
    const interruptions = yield* Ref.make(0)
    const exit = yield* Effect.exit(Ordered.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        probe.track(
          i,
          Effect.gen(function*() {
            const attempt = yield* Ordered.currentAttempt
            started.push([i, attempt, yield* Clock.currentTimeMillis])
            const { fails, millis } = plan(i, attempt)
            yield* Effect.sleep(millis)
            if (fails === true) return yield* Effect.fail(`attempt ${attempt} of ${i} failed`)
            return `${i} by attempt ${attempt}`
          }).pipe(Effect.onInterrupt(() => Ref.update(interruptions, (n) => n + 1)))
        ),
      options
    ))
    return { exit, interruptions: yield* Ref.get(interruptions) }
  })
  const { elapsedMillis, exit } = runVirtual(program)
  if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
  return { ...exit.value, elapsedMillis, started, probe }
}

describe("hedge", () => {
  it("a head running past `after` gets a copy; the first to succeed wins, the other is interrupted", () => {
    const r = run(1, (_, attempt) => ({ millis: attempt === 1 ? 1000 : 10 }), {
      concurrency: 2,
      hedge: { after: 50 }
    })
    expect(r.exit).toEqual(Exit.succeed(["0 by attempt 2"]))
    expect(r.started).toEqual([[0, 1, 0], [0, 2, 50]])
    expect(r.elapsedMillis).toBe(60)
    expect(r.interruptions).toBe(1)
    expect(r.probe.finalized.get(0)).toBe(2)
  })

  it("the first attempt still wins when it finishes first; the copy is interrupted", () => {
    const r = run(1, (_, attempt) => ({ millis: attempt === 1 ? 80 : 500 }), { concurrency: 2, hedge: { after: 50 } })
    expect(r.exit).toEqual(Exit.succeed(["0 by attempt 1"]))
    expect(r.elapsedMillis).toBe(80)
    expect(r.interruptions).toBe(1)
  })

  it("only the head of the order is hedged, and each action at most once", () => {
    // Action 1 runs 200 ms but is done before it becomes the head (at 300 ms).
    const r = run(2, (i, attempt) => ({ millis: i === 0 ? (attempt === 1 ? 300 : 1000) : 200 }), {
      concurrency: 4,
      hedge: { after: 50 }
    })
    expect(r.exit).toEqual(Exit.succeed(["0 by attempt 1", "1 by attempt 1"]))
    expect(r.started).toEqual([[0, 1, 0], [1, 1, 0], [0, 2, 50]])
  })

  it("an action that becomes the head after its threshold is hedged then", () => {
    // Action 1 has run 100 ms when action 0 is emitted: overdue, hedged at once.
    const r = run(2, (i, attempt) => ({ millis: i === 0 ? 100 : attempt === 1 ? 1000 : 5 }), {
      concurrency: 4,
      hedge: { after: 50 }
    })
    expect(r.exit).toEqual(Exit.succeed(["0 by attempt 1", "1 by attempt 2"]))
    expect(r.started.filter(([i]) => i === 1)).toEqual([[1, 1, 0], [1, 2, 100]])
  })

  it("the copy takes a worker: never more than `concurrency` attempts at once", () => {
    // One worker: the copy can only start once the first attempt has ended, and then it never does.
    const one = run(3, () => ({ millis: 100 }), { concurrency: 1, hedge: { after: 10 } })
    expect(one.started.map(([i, attempt]) => [i, attempt])).toEqual([[0, 1], [1, 1], [2, 1]])
    expect(one.probe.peak()).toBe(1)
    const three = run(30, (i, attempt) => ({ millis: attempt === 1 ? 40 + (i % 7) * 30 : 20 }), {
      concurrency: 3,
      hedge: { after: 25 }
    })
    expect(three.started.some(([, attempt]) => attempt === 2)).toBe(true)
    expect(three.probe.peak()).toBe(3)
  })

  it("regression: an action whose first attempt just succeeded is not hedged as its end makes the threshold known", () => {
    // Actions 1 and 3 end at once; action 2 waits for action 0, of its key, on a parked worker. Action 0's end
    // is the third sample: the quantile becomes known while action 0 is still the head, long overdue.
    const r = run(4, (i) => ({ millis: i === 0 ? 1 : 0 }), {
      concurrency: 2,
      window: 4,
      key: (i) => i % 2,
      hedge: { quantile: 0.05, minSamples: 3 }
    })
    expect(r.exit).toEqual(Exit.succeed(["0 by attempt 1", "1 by attempt 1", "2 by attempt 1", "3 by attempt 1"]))
    expect(r.started).toEqual([[0, 1, 0], [1, 1, 0], [3, 1, 0], [2, 1, 1]])
    expect(r.interruptions).toBe(0)
  })

  it("fails only if both attempts fail, with both causes", () => {
    const saved = run(1, (_, attempt) => ({ millis: 100, fails: attempt === 1 }), { concurrency: 2, hedge: { after: 50 } })
    expect(saved.exit).toEqual(Exit.succeed(["0 by attempt 2"]))
    const lost = run(1, () => ({ millis: 100, fails: true }), { concurrency: 2, hedge: { after: 50 } })
    expect(Exit.isFailure(lost.exit) && failuresOf(lost.exit.cause)).toEqual([
      "attempt 1 of 0 failed",
      "attempt 2 of 0 failed"
    ])
    expect(lost.elapsedMillis).toBe(150)
  })

  it("`timeout` covers both attempts, measured from the first one's start", () => {
    const r = run(1, () => ({ millis: 10_000 }), { concurrency: 2, hedge: { after: 50 }, timeout: 200 })
    const failure = Exit.isFailure(r.exit) ? Option.getOrUndefined(failureOf(r.exit.cause)) : undefined
    expect(failure).toBeInstanceOf(ActionTimeoutError)
    expect((failure as ActionTimeoutError).index).toBe(0)
    expect(r.elapsedMillis).toBe(200)
    expect(r.started).toEqual([[0, 1, 0], [0, 2, 50]])
    // both attempts were interrupted, and finalized
    expect(r.interruptions).toBe(2)
    expect(r.probe.finalized.get(0)).toBe(2)
  })

  it("with `quantile`, nothing is hedged before `minSamples` actions completed; then the slow head is", () => {
    // Ten 10 ms actions, then one of 1,000 ms whose copy takes 10 ms.
    const plan = (i: number, attempt: number): Attempt => ({ millis: i === 10 && attempt === 1 ? 1000 : 10 })
    const hedged = run(11, plan, { concurrency: 1, window: 11, hedge: { quantile: 0.5, minSamples: 10 } })
    expect(hedged.started.filter(([, attempt]) => attempt === 2)).toEqual([])
    const early = run(11, plan, { concurrency: 2, hedge: { quantile: 0.5, minSamples: 10 } })
    expect(early.started.filter(([, attempt]) => attempt === 2).map(([i]) => i)).toEqual([10])
    expect(early.exit).toEqual(Exit.succeed(Array.from({ length: 11 }, (_, i) => `${i} by attempt ${i === 10 ? 2 : 1}`)))
    const tooFew = run(11, plan, { concurrency: 2, hedge: { quantile: 0.5, minSamples: 20 } })
    expect(tooFew.started.filter(([, attempt]) => attempt === 2)).toEqual([])
  })

  it.effect("the loser is interrupted, its finalizers run, before the winner's result is emitted; its place is free at once", () =>
    Effect.gen(function*() {
      // Concurrency 2. Action 0's first attempt would take 1,000 ms; its copy
      // (asked for at 50 ms, started at 220 ms when action 2 frees a worker)
      // takes 10 ms and wins at 230 ms. Actions 3 and 4 (40 ms each) then
      // both start at 230 ms: the loser's place went back as it was interrupted.
      const millis = (i: number, attempt: number) =>
        i === 0 ? (attempt === 1 ? 1000 : 10) : i === 1 ? 20 : i === 2 ? 200 : 40
      const events: Array<string> = []
      const at = (event: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => events.push(`${event} at ${now}`)))
      const gauge = makeGauge()
      const fiber = yield* Stream.range(0, 4).pipe(
        Ordered.mapEffect((i) =>
          gauge.track(Effect.gen(function*() {
            const attempt = yield* Ordered.currentAttempt
            yield* at(`start ${i}.${attempt}`)
            yield* Effect.sleep(millis(i, attempt))
            return i
          }).pipe(Effect.onInterrupt(() => at(`finalized ${i}`)))), { concurrency: 2, hedge: { after: 50 } }),
        Stream.tap((i) => at(`emit ${i}`)),
        Stream.runCollect,
        fork
      )
      yield* TestClock.adjust(2000)
      expect(Array.from(yield* Fiber.join(fiber))).toEqual([0, 1, 2, 3, 4])
      const of = (pattern: RegExp) => events.filter((event) => pattern.test(event))
      expect(of(/^start 0/)).toEqual(["start 0.1 at 0", "start 0.2 at 220"])
      // The loser's finalizer runs first, then the winner's result leaves, at the same moment.
      expect(of(/^finalized|^emit 0/)).toEqual(["finalized 0 at 230", "emit 0 at 230"])
      expect(of(/^start [34]/)).toEqual(["start 3.1 at 230", "start 4.1 at 230"])
      expect(of(/^emit [34]/)).toEqual(["emit 3 at 270", "emit 4 at 270"])
      expect(gauge.peak()).toBe(2)
    }))

  it("f reads attempt 1 outside Ordered", () =>
    expect(Effect.runSync(Ordered.currentAttempt)).toBe(1))
})

describe("hedge in Simulation (the bench runs 10,000 actions over five seeds)", () => {
  it("reports the copies and their wins; a heavy tail gets shorter, a uniform one costs at most 5% extra", () => {
    for (const seed of [1, 2]) {
      const heavy = { actions: 2000, concurrency: 100, latency: Simulation.Latency.logNormal(20, 1.2), seed, window: 300 }
      const plain = Effect.runSync(Simulation.run(heavy))
      const hedged = Effect.runSync(Simulation.run({ ...heavy, hedge: { quantile: 0.95 } }))
      expect(plain.hedged).toBe(0)
      expect(hedged.orderHeld).toBe(true)
      expect(hedged.peakInFlight).toBeLessThanOrEqual(100)
      expect(hedged.hedged).toBe(hedged.timeline.filter((a) => a.hedgeStartMillis !== undefined).length)
      expect(hedged.hedgeWins).toBe(hedged.timeline.filter((a) => a.hedgeWon).length)
      expect(hedged.hedgeWins).toBeLessThanOrEqual(hedged.hedged)
      expect(hedged.makespanMillis).toBeLessThanOrEqual(0.6 * plain.makespanMillis)
      expect(hedged.hedged).toBeLessThanOrEqual(0.05 * heavy.actions)
      const uniform = { ...heavy, latency: Simulation.Latency.uniform(0, 100), window: undefined }
      const uniformPlain = Effect.runSync(Simulation.run(uniform))
      const uniformHedged = Effect.runSync(Simulation.run({ ...uniform, hedge: { quantile: 0.95 } }))
      expect(uniformHedged.makespanMillis).toBeLessThanOrEqual(1.01 * uniformPlain.makespanMillis)
      expect(uniformHedged.hedged).toBeLessThanOrEqual(0.05 * uniform.actions)
    }
  })

  it("compare gains a row per hedging policy, at the given window", () => {
    const rows = Effect.runSync(Simulation.compare({
      actions: 300,
      concurrency: 20,
      latency: Simulation.Latency.logNormal(20, 1.2),
      windows: [60, "auto"],
      hedges: [{ quantile: 0.9 }, { after: 100 }]
    }))
    expect(rows.map((row) => [row.strategy, row.window, row.hedge])).toEqual([
      ["sequential", undefined, undefined],
      ["Stream.mapEffect", undefined, undefined],
      ["effect-ordered", 60, undefined],
      ["effect-ordered", "auto", undefined],
      ["effect-ordered", "auto", { quantile: 0.9 }],
      ["effect-ordered", "auto", { after: 100 }],
      ["unbounded", Infinity, undefined]
    ])
    expect(rows.slice(4, 6).every((row) => row.hedged > 0)).toBe(true)
    expect(rows.filter((row) => row.hedge === undefined).every((row) => row.hedged === 0)).toBe(true)
  })
})
