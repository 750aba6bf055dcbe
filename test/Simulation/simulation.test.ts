import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Simulation } from "../../src/index.ts"
import { IllegalArgumentError, fc } from "../utils/line.ts"

/**
 * An independent discrete-event model of `order: "total"` without keys: a
 * pool of `concurrency` workers takes actions in input order; an action may
 * start only while fewer than `window` actions are taken and not yet emitted;
 * an action is emitted as soon as it and every earlier action are done. At
 * each instant: finishes first, then emissions, then starts.
 */
const discreteEvents = (latencies: ReadonlyArray<number>, concurrency: number, window: number) => {
  const n = latencies.length
  const start: Array<number> = []
  const finish: Array<number> = []
  const emit: Array<number> = []
  const done: Array<boolean> = []
  let now = 0
  let next = 0
  let emitted = 0
  let running = 0
  while (emitted < n) {
    while (running < concurrency && next < n && next - emitted < window) {
      start[next] = now
      finish[next] = now + latencies[next]
      running++
      next++
    }
    now = Math.min(...finish.slice(emitted, next).filter((_, k) => !done[emitted + k]))
    for (let i = emitted; i < next; i++) {
      if (!done[i] && finish[i] === now) {
        done[i] = true
        running--
      }
    }
    while (emitted < next && done[emitted]) emit[emitted++] = now
  }
  return { start, finish, emit, makespan: now }
}

const simulate = (latencies: ReadonlyArray<number>, concurrency: number, window: number) =>
  Simulation.run({
    actions: latencies.length,
    concurrency,
    window,
    latency: Simulation.Latency.fixed(latencies)
  })

const defectMessage = <A>(effect: Effect.Effect<A>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("expected a defect")
    const defect = Cause.squash(exit.cause)
    expect(defect).toBeInstanceOf(IllegalArgumentError)
    return (defect as Error).message
  })

describe("Simulation.run", () => {
  it.effect("gives identical reports for identical options, and other draws for another seed", () =>
    Effect.gen(function*() {
      const options = { actions: 300, concurrency: 20, failures: 0.001, latency: Simulation.Latency.logNormal(10, 1) }
      const first = yield* Simulation.run({ ...options, seed: 9 })
      const second = yield* Simulation.run({ ...options, seed: 9 })
      const other = yield* Simulation.run({ ...options, seed: 10 })
      expect(second).toEqual(first)
      expect(other.timeline.map((a) => a.latencyMillis)).not.toEqual(first.timeline.map((a) => a.latencyMillis))
    }))

  const latencies = [50, 10, 80, 5, 5, 30, 90, 0, 20, 40, 0, 0, 70, 15, 25, 60, 35, 45, 10, 5]

  for (const [concurrency, window] of [[1, 1], [3, 3], [3, 4], [3, 6], [4, Infinity], [20, 20]] as const) {
    it.effect(`matches a discrete-event computation: concurrency ${concurrency}, window ${window}`, () =>
      Effect.gen(function*() {
        const expected = discreteEvents(latencies, concurrency, window)
        const report = yield* simulate(latencies, concurrency, window)
        expect(report.makespanMillis).toBe(expected.makespan)
        expect(report.timeline.map((a) => a.startMillis)).toEqual(expected.start)
        expect(report.timeline.map((a) => a.finishMillis)).toEqual(expected.finish)
        expect(report.timeline.map((a) => a.emitMillis)).toEqual(expected.emit)
        expect(report.unboundedMillis).toBe(discreteEvents(latencies, concurrency, Infinity).makespan)
        expect(report.sequentialMillis).toBe(latencies.reduce((a, b) => a + b, 0))
      }))
  }

  it.effect("matches the discrete-event computation on random workloads, within its bounds", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: 6 }),
          fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
          (latencies, concurrency, extra) => {
            const window = extra === undefined ? Infinity : concurrency + extra
            const report = Effect.runSync(simulate(latencies, concurrency, window))
            const expected = discreteEvents(latencies, concurrency, window)
            expect(report.timeline.map((a) => a.emitMillis)).toEqual(expected.emit)
            expect(report.makespanMillis).toBe(expected.makespan)
            expect(report.orderHeld).toBe(true)
            expect(report.emitted).toBe(latencies.length)
            expect(report.peakInFlight).toBeLessThanOrEqual(concurrency)
            // The head of the window is still running while the others wait.
            expect(report.peakBuffered).toBeLessThanOrEqual(Math.min(window, latencies.length) - 1)
            expect(report.makespanMillis).toBeGreaterThanOrEqual(report.unboundedMillis)
            for (const a of report.timeline) {
              expect(a.emitMillis! - a.finishMillis!).toBeLessThanOrEqual(report.emissionDelay.max)
            }
          }
        ),
        { numRuns: 100 }
      )
    ))

  it.effect("measures peaks and emission delays of a hand-checked run", () =>
    Effect.gen(function*() {
      // Two workers, window 3: 0 runs 0–100; 1 runs 0–10; 2 runs 10–20, then 1 and 2 wait for 0 until 100.
      const report = yield* simulate([100, 10, 10], 2, 3)
      expect(report.makespanMillis).toBe(100)
      expect(report.peakInFlight).toBe(2)
      expect(report.peakBuffered).toBe(2)
      expect(report.emissionDelay).toEqual({ p50: 80, p99: 90, max: 90 })
      expect(report.throughput).toBeCloseTo(30, 10)
    }))

  it.effect("keeps order within each key and gates same-key actions", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ actions: 400, concurrency: 16, order: "key", keys: 5, seed: 3 })
      expect(report.orderHeld).toBe(true)
      expect(report.emitted).toBe(400)
      // keyConcurrency 1 with 5 keys: never more than 5 running.
      expect(report.peakInFlight).toBeLessThanOrEqual(5)
      const byKey = new Map<number, Array<Simulation.ActionTrace>>()
      for (const a of report.timeline) byKey.set(a.key!, [...(byKey.get(a.key!) ?? []), a])
      for (const actions of byKey.values()) {
        for (let i = 1; i < actions.length; i++) {
          expect(actions[i].startMillis!).toBeGreaterThanOrEqual(actions[i - 1].finishMillis!)
        }
      }
    }))

  it.effect("emits in completion order with order none: nothing waits", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ actions: 500, concurrency: 25, order: "none", seed: 4 })
      expect(report.orderHeld).toBe(true)
      expect(report.peakBuffered).toBe(0)
      expect(report.emissionDelay.max).toBe(0)
    }))

  it.effect("fails like the real operator: earlier actions emitted, later ones interrupted", () =>
    Effect.gen(function*() {
      const options = { actions: 2000, concurrency: 50, failures: 0.005, seed: 12 }
      const firstFailing = Simulation.workload(options).fails.indexOf(true)
      expect(firstFailing).toBeGreaterThan(0)
      const report = yield* Simulation.run(options)
      expect(report.failedAt).toBe(firstFailing)
      expect(report.emitted).toBe(firstFailing)
      expect(report.orderHeld).toBe(true)
      expect(report.timeline.filter((a) => a.emitMillis !== undefined).map((a) => a.index)).toEqual(
        Array.from({ length: firstFailing }, (_, i) => i)
      )
      const interrupted = report.timeline.filter((a) => a.startMillis !== undefined && a.finishMillis === undefined)
      expect(report.interrupted).toBe(interrupted.length)
      expect(interrupted.every((a) => a.index > firstFailing)).toBe(true)
      // The run ends once the failing action and every earlier one have finished.
      expect(report.makespanMillis).toBe(
        Math.max(...report.timeline.slice(0, firstFailing + 1).map((a) => a.finishMillis!))
      )
    }))
})

describe("Simulation.Latency", () => {
  it.effect("uniform draws whole milliseconds in [min, max)", () =>
    Effect.sync(() => {
      const { latencyMillis } = Simulation.workload({
        actions: 5000,
        concurrency: 1,
        latency: Simulation.Latency.uniform(10, 20)
      })
      expect(latencyMillis.every((ms) => Number.isInteger(ms) && ms >= 10 && ms < 20)).toBe(true)
      expect(new Set(latencyMillis).size).toBe(10)
    }))

  it.effect("logNormal has the given median", () =>
    Effect.sync(() => {
      const { latencyMillis } = Simulation.workload({
        actions: 4001,
        concurrency: 1,
        latency: Simulation.Latency.logNormal(20, 1.2)
      })
      const sorted = [...latencyMillis].sort((a, b) => a - b)
      expect(sorted[2000]).toBeGreaterThan(18)
      expect(sorted[2000]).toBeLessThan(22)
      expect(sorted[0]).toBeGreaterThan(0)
    }))

  it.effect("fixed cycles its durations; a function is called per index", () =>
    Effect.sync(() => {
      expect(
        Simulation.workload({ actions: 5, concurrency: 1, latency: Simulation.Latency.fixed([3, "1 second"]) })
          .latencyMillis
      ).toEqual([3, 1000, 3, 1000, 3])
      expect(Simulation.workload({ actions: 3, concurrency: 1, latency: (i) => `${i * 2} millis` }).latencyMillis)
        .toEqual([0, 2, 4])
    }))
})

describe("Simulation.compare", () => {
  it.effect("returns sequential, Stream.mapEffect, each window and unbounded, on one workload", () =>
    Effect.gen(function*() {
      const options = { actions: 400, concurrency: 20, seed: 5 }
      const rows = yield* Simulation.compare({ ...options, windows: [20, 60] })
      expect(rows.map((row) => [row.strategy, row.window])).toEqual([
        ["sequential", undefined],
        ["Stream.mapEffect", undefined],
        ["effect-ordered", 20],
        ["effect-ordered", 60],
        ["unbounded", Infinity]
      ])
      const sequential = Simulation.workload(options).latencyMillis.reduce((a, b) => a + b, 0)
      const report = yield* Simulation.run({ ...options, window: 60 })
      expect(rows[0].makespanMillis).toBe(sequential)
      expect(rows[3].makespanMillis).toBe(report.makespanMillis)
      expect(rows[4].makespanMillis).toBe(report.unboundedMillis)
      for (const row of rows) {
        expect(row.speedup).toBeCloseTo(sequential / row.makespanMillis, 10)
        expect(row.vsUnbounded).toBeCloseTo(row.makespanMillis / report.unboundedMillis, 10)
        expect(row.makespanMillis).toBeGreaterThanOrEqual(report.unboundedMillis)
      }
    }))
})

describe("options", () => {
  const base = { actions: 10, concurrency: 2 }
  const cases: ReadonlyArray<readonly [unknown, string]> = [
    [{ ...base, actions: 0 }, "Expected `options.actions` to be an integer ≥ 1, got `0` (number)"],
    [{ ...base, concurrency: 1.5 }, "Expected `options.concurrency` to be an integer ≥ 1 or \"auto\", got `1.5` (number)"],
    [{ ...base, window: 1 }, "Expected `options.window` to be an integer ≥ concurrency (2), Infinity or \"auto\", got `1` (number)"],
    [{ ...base, order: "key" }, "Expected `options.keys` to be an integer ≥ 1 when `options.order` is \"key\", got `undefined` (undefined)"],
    [{ ...base, failures: 2 }, "Expected `options.failures` to be a probability between 0 and 1, got `2` (number)"],
    [{ ...base, seed: "x" }, "Expected `options.seed` to be an integer, got `\"x\"` (string)"],
    [{ ...base, latency: Simulation.Latency.uniform(5, 5) }, "Expected `options.latency.max` to be an integer > min (5), got `5` (number)"],
    [{ ...base, latency: Simulation.Latency.logNormal(0, 1) }, "Expected `options.latency.median` to be a finite number > 0, got `0` (number)"],
    [{ ...base, latency: Simulation.Latency.fixed([]) }, "Expected `options.latency.durations` to be a non-empty array of durations, got `[]` (array)"],
    [{ ...base, latency: Simulation.Latency.fixed([1, -1]) }, "Expected `options.latency.durations[1]` to be a finite duration ≥ 0"],
    [{ ...base, latency: (i: number) => i - 5 }, "Expected `options.latency(0)` to be a finite duration ≥ 0"],
    [{ ...base, latency: 5 }, "Expected `options.latency` to be an object, got `5` (number)"]
  ]
  for (const [options, message] of cases) {
    it.effect(`rejects ${message.slice(10, message.indexOf("` to"))}`, () =>
      Effect.gen(function*() {
        expect(yield* defectMessage(Simulation.run(options as Simulation.Options))).toContain(message)
      }))
  }

  it.effect("rejects a window below concurrency in compare's windows", () =>
    Effect.gen(function*() {
      expect(yield* defectMessage(Simulation.compare({ ...base, windows: [2, 1] }))).toBe(
        "Expected `options.windows[1]` to be an integer ≥ concurrency (2), Infinity or \"auto\", got `1` (number)"
      )
    }))
})
