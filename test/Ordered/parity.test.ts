import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Effect, Exit, Fiber, Ref, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import { makeGauge } from "../utils/gauge.ts"
import { TestClock, fork, line } from "../utils/line.ts"

/** Peak in flight of `run` over 50 actions of 1 s each, in virtual time. */
const peakOf = (
  run: (f: (n: number) => Effect.Effect<number>) => Effect.Effect<unknown>
) =>
  Effect.gen(function*() {
    const gauge = makeGauge()
    const fiber = yield* fork(run((n) => gauge.track(Effect.as(Effect.sleep("1 second"), n))))
    yield* TestClock.adjust("1 minute")
    yield* Fiber.join(fiber)
    return gauge.peak()
  })

const items = Arr.range(0, 49)

describe("parity with Effect.forEach", () => {
  describe("discard: true", () => {
    it.effect("runs every action once and succeeds with void", () =>
      Effect.gen(function*() {
        const ran = yield* Ref.make<Array<number>>([])
        const result = yield* Ordered.forEach(items, (n) => Ref.update(ran, Arr.append(n)), {
          concurrency: 4,
          discard: true
        })
        expect(result).toBeUndefined()
        expect([...yield* Ref.get(ran)].sort((a, b) => a - b)).toEqual(items)
      }))

    it.effect("fails as without discard: with the first failure in input order", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Ordered.forEach(items, (n) => n >= 7 ? Effect.fail(n) : Effect.void, { concurrency: 4, discard: true })
        )
        expect(exit).toEqual(Exit.fail(7))
      }))
  })

  describe("concurrency", () => {
    it.effect("\"unbounded\" runs every action at once, with an unbounded default window", () =>
      Effect.gen(function*() {
        expect(yield* peakOf((f) => Ordered.forEach(items, f, { concurrency: "unbounded" }))).toBe(50)
        expect(yield* peakOf((f) => Stream.runDrain(Ordered.mapEffect(Stream.fromIterable(items), f, { concurrency: "unbounded" }))))
          .toBe(50)
        expect(yield* peakOf((f) => Effect.forEach(items, f, { concurrency: "unbounded" }))).toBe(50)
      }))

    it.effect("\"unbounded\" with a window: the window bounds what runs", () =>
      Effect.gen(function*() {
        expect(yield* peakOf((f) => Ordered.forEach(items, f, { concurrency: "unbounded", window: 8 }))).toBe(8)
      }))

    // effect 4 has no ambient concurrency (EFFECT4.md, "gone in 4": withConcurrency/currentConcurrency)
    it.effect.skipIf(line === 4)("\"inherit\" follows Effect.withConcurrency as Effect.forEach does (effect 3 only)", () =>
      Effect.gen(function*() {
        for (const setting of [1, 3, "unbounded"] as const) {
          const ordered = yield* peakOf((f) =>
            Ordered.forEach(items, f, { concurrency: "inherit" }).pipe(Effect.withConcurrency(setting))
          )
          const stream = yield* peakOf((f) =>
            Stream.runDrain(Ordered.mapEffect(Stream.fromIterable(items), f, { concurrency: "inherit" })).pipe(
              Effect.withConcurrency(setting)
            )
          )
          const effect = yield* peakOf((f) =>
            Effect.forEach(items, f, { concurrency: "inherit" }).pipe(Effect.withConcurrency(setting))
          )
          expect([setting, ordered, stream]).toEqual([setting, effect, effect])
        }
        // Unset: unbounded, as for Effect.forEach.
        expect(yield* peakOf((f) => Ordered.forEach(items, f, { concurrency: "inherit" }))).toBe(50)
      }))
  })
})
