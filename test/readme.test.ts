import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { Ordered } from "../src/index.ts"

// The README's testing example, as a user writes it.
it.effect("cancel is applied after place", () =>
  Effect.gen(function*() {
    const fiber = yield* Stream.make("place 17", "cancel 17").pipe(
      Ordered.mapEffect((a, i) => Effect.as(Effect.sleep(i === 0 ? "50 millis" : "1 millis"), a), { concurrency: 2 }),
      Stream.runCollect,
      Effect.fork
    )
    yield* TestClock.adjust("1 second")
    expect([...(yield* Fiber.join(fiber))]).toEqual(["place 17", "cancel 17"])
  }))
