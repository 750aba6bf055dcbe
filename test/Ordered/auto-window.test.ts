import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Stream } from "effect"
import { countChunks, fc } from "../utils/line.ts"
import { Ordered, Simulation } from "../../src/index.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { makeGauge } from "../utils/gauge.ts"

/**
 * `window: "auto"` (the default), in virtual time: it grows behind a
 * running head, up to `maxWindow` and no further; a slow consumer does not
 * grow it; it shrinks back once a stall is over.
 */

const HOUR = 3_600_000

/**
 * Runs `count` actions, action 0 taking an hour and the others none, and
 * counts the actions started while action 0 ran: what the stall held.
 */
const heldBehindStalledHead = (count: number, options: Ordered.Options<number> & { readonly concurrency: number }) => {
  let startedDuringStall = 0
  const gauge = makeGauge()
  const { exit } = runVirtual(Ordered.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      gauge.track(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (now < HOUR) startedDuringStall++
        return Effect.as(Effect.sleep(i === 0 ? HOUR : 0), i)
      })),
    options
  ))
  expect(exit).toEqual(Exit.succeed(Array.from({ length: count }, (_, i) => i)))
  expect(gauge.peak()).toBeLessThanOrEqual(options.concurrency)
  return startedDuringStall
}

describe("window: \"auto\"", () => {
  it("is the default: a stalled head holds 128 × concurrency actions, no more", () => {
    expect(heldBehindStalledHead(2000, { concurrency: 7 })).toBe(7 * 128)
  })

  it("a stalled head holds at most `maxWindow`", () => {
    expect(heldBehindStalledHead(2000, { concurrency: 7, window: "auto", maxWindow: 50 })).toBe(50)
    expect(heldBehindStalledHead(2000, { concurrency: 7, window: "auto", maxWindow: 7 })).toBe(7)
  })

  it("a fixed window is not stretched", () => {
    expect(heldBehindStalledHead(2000, { concurrency: 7, window: 30 })).toBe(30)
  })

  /**
   * Taken from upstream and not yet handed to the consumer, at its peak, in
   * two phases: actions below `split`, then the rest.
   */
  const occupancy = (
    count: number,
    split: number,
    latency: (i: number) => number,
    consumerMillis: (i: number) => number,
    options: Ordered.Options<number>
  ) => {
    let pulled = 0
    let handedOver = 0
    const peak = [0, 0]
    const program = Stream.range(0, count - 1).pipe(
      Stream.rechunk(1),
      Stream.tap((i) =>
        Effect.sync(() => {
          pulled++
          const phase = i < split ? 0 : 1
          peak[phase] = Math.max(peak[phase], pulled - handedOver)
        })
      ),
      Ordered.mapEffect((i) => Effect.as(Effect.sleep(latency(i)), i), options),
      countChunks((size) => {
        handedOver += size
      }),
      Stream.runForEach((i) => Effect.sleep(Duration.millis(consumerMillis(i))))
    )
    expect(runVirtual(program).exit).toEqual(Exit.void)
    return peak
  }

  it("does not grow in front of a slow consumer", () => {
    // Instant actions, a consumer that takes 1 ms per result: the window is
    // full of results the consumer has yet to take, not of ones held back.
    const [peak] = occupancy(500, 500, () => 0, () => 1, { concurrency: 4 })
    expect(peak).toBe(4 * 3)
  })

  it("grows behind a running head, then shrinks back to its start once the stall is over", () => {
    // Action 0 runs 100 ms while the others take 1 ms: the window grows to
    // its maximum. Then 2,000 quick actions flow, and from action 2,200 on
    // the consumer is slow: only the starting window (3 × 4) runs ahead of it.
    const [stalled, slowConsumer] = occupancy(
      2400,
      2200,
      (i) => (i === 0 ? 100 : 1),
      (i) => (i >= 2200 ? 1 : 0),
      { concurrency: 4, maxWindow: 200 }
    )
    expect(stalled).toBe(200)
    expect(slowConsumer).toBe(4 * 3)
  })

  it("over random stalls, never holds more than `maxWindow` and shrinks back to its start", () => {
    // Some quick actions stall (a slow head: the window grows); after the
    // last stall 800 quick actions flow, then the consumer turns slower than
    // the workers: the window fills, to its starting size (3 × concurrency).
    const stall = fc.record({ at: fc.integer({ min: 0, max: 599 }), millis: fc.integer({ min: 2, max: 300 }) })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(stall, { minLength: 1, maxLength: 6 }),
        (concurrency, extra, stalls) => {
          const maxWindow = 3 * concurrency + extra
          const millis = new Map(stalls.map(({ at, millis }) => [at, millis]))
          const [stalled, slowConsumer] = occupancy(
            1500,
            1400,
            (i) => millis.get(i) ?? 1,
            (i) => (i >= 1400 ? 2 : 0),
            { concurrency, maxWindow }
          )
          expect(stalled).toBeLessThanOrEqual(maxWindow)
          expect(slowConsumer).toBe(3 * concurrency)
        }
      ),
      { numRuns: 30, seed: 22 }
    )
  })
})

describe("window: \"auto\" in Simulation (the bench runs seeds 1–20 and 10,000 actions)", () => {
  const vsUnbounded = (latency: Simulation.Latency, seed: number) => {
    const report = Effect.runSync(Simulation.run({ actions: 1000, concurrency: 100, latency, seed }))
    expect(report.peakBuffered).toBeLessThanOrEqual(100 * 128)
    expect(report.orderHeld).toBe(true)
    return report.makespanMillis / report.unboundedMillis
  }

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: uniform 0–99 ms within 2% of the unbounded window, log-normal within 5%`, () => {
      expect(vsUnbounded(Simulation.Latency.uniform(0, 100), seed)).toBeLessThanOrEqual(1.02)
      expect(vsUnbounded(Simulation.Latency.logNormal(20, 1.2), seed)).toBeLessThanOrEqual(1.05)
    })
  }
})
