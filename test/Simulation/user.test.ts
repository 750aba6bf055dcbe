/**
 * How a user tests their own pipeline's throughput and ordering with
 * `Simulation` (docs/simulation.md shows this file). The pipeline: an order import
 * that calls a pricing service for each order, 50 calls at once, and applies
 * the results in input order. The service's latency is heavy-tailed (median
 * 40 ms, log-normal σ 0.8: mean ≈ 55 ms), so 50 workers can at best import
 * 50 / 0.055 s ≈ 900 orders/s; the import must sustain 500.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Simulation } from "../../src/index.ts" // in your project: from "effect-ordered"

const importPipeline = {
  concurrency: 50,
  window: 400,
  latency: Simulation.Latency.logNormal(40, 0.8)
} as const

describe("order import (simulated)", () => {
  it.effect("keeps input order and imports at least 500 orders/s, for several seeds", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3]) {
        const report = yield* Simulation.run({ ...importPipeline, actions: 5000, seed })
        expect(report.orderHeld).toBe(true)
        expect(report.throughput).toBeGreaterThan(500)
        expect(report.peakInFlight).toBeLessThanOrEqual(importPipeline.concurrency)
        // Finished results held back for an earlier order stay inside the window.
        expect(report.peakBuffered).toBeLessThan(importPipeline.window)
      }
    }))

  it.effect("a window of 400 (8 × concurrency) is within 10% of unlimited buffering", () =>
    Effect.gen(function*() {
      // Heavy tails stall the head of the line longer than the default 3× window absorbs.
      const report = yield* Simulation.run({ ...importPipeline, actions: 5000 })
      expect(report.makespanMillis / report.unboundedMillis).toBeLessThan(1.1)
    }))

  it.effect("a failed call stops the import right after the orders before it", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ ...importPipeline, actions: 5000, failures: 0.001, seed: 4 })
      expect(report.failedAt).toBeDefined()
      expect(report.emitted).toBe(report.failedAt)
      expect(report.orderHeld).toBe(true)
    }))
})
