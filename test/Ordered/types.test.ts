// Checked by `npm run typecheck` (tsc over test/); vitest runs the assertions as no-ops.
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
import { type ActionTimeoutError, Ordered } from "../../src/index.ts"

class Boom {
  readonly _tag = "Boom"
}
const f = (n: number): Effect.Effect<string, Boom> => Effect.succeed(String(n))

describe("types", () => {
  it("ActionTimeoutError joins the error type only when `timeout` is given", () => {
    expectTypeOf(Ordered.forEach([1, 2], f, { concurrency: 2 })).toEqualTypeOf<Effect.Effect<Array<string>, Boom>>()
    expectTypeOf(Ordered.forEach([1, 2], f, { concurrency: 2, timeout: "1 second" })).toEqualTypeOf<
      Effect.Effect<Array<string>, Boom | ActionTimeoutError>
    >()
    expectTypeOf(Stream.make(1, 2).pipe(Ordered.mapEffect(f, { concurrency: 2 }))).toEqualTypeOf<
      Stream.Stream<string, Boom>
    >()
    expectTypeOf(Ordered.mapEffect(Stream.make(1, 2), f, { concurrency: 2, timeout: 10 })).toEqualTypeOf<
      Stream.Stream<string, Boom | ActionTimeoutError>
    >()
    // A `Stream<number, never>` annotation compiles without `timeout`.
    const stream: Stream.Stream<number, never> = Stream.make(1, 2).pipe(
      Ordered.mapEffect(Effect.succeed, { concurrency: "unbounded" })
    )
    expectTypeOf(stream).toEqualTypeOf<Stream.Stream<number>>()
  })

  it("options typed as `Options` may hold a timeout: the error type says so", () => {
    const options: Ordered.Options<number> = { concurrency: 2 }
    expectTypeOf(Ordered.forEach([1], f, options)).toEqualTypeOf<
      Effect.Effect<Array<string>, Boom | ActionTimeoutError>
    >()
    const maybe: Duration.DurationInput | undefined = undefined as Duration.DurationInput | undefined
    expectTypeOf(Ordered.forEach([1], f, { concurrency: 2, timeout: maybe })).toEqualTypeOf<
      Effect.Effect<Array<string>, Boom | ActionTimeoutError>
    >()
  })

  it("discard: true gives Effect<void>", () => {
    expectTypeOf(Ordered.forEach([1], f, { concurrency: 2, discard: true })).toEqualTypeOf<Effect.Effect<void, Boom>>()
    expectTypeOf(Ordered.forEach([1], f, { concurrency: 2, discard: false })).toEqualTypeOf<
      Effect.Effect<Array<string>, Boom>
    >()
    expectTypeOf(Ordered.forEach(f, { concurrency: "inherit", discard: true, timeout: "1 second" })([1])).toEqualTypeOf<
      Effect.Effect<void, Boom | ActionTimeoutError>
    >()
    const flag = true as boolean
    expectTypeOf(Ordered.forEach([1], f, { concurrency: 2, discard: flag })).toEqualTypeOf<
      Effect.Effect<void | Array<string>, Boom>
    >()
  })

  it("rejects unknown options and bad concurrency values", () => {
    // @ts-expect-error: no such option
    Ordered.forEach([1], f, { concurrency: 2, windw: 4 })
    // @ts-expect-error: not a concurrency
    Ordered.forEach([1], f, { concurrency: "all" })
    // @ts-expect-error: discard belongs to forEach
    Stream.make(1).pipe(Ordered.mapEffect(f, { concurrency: 2, discard: true }))
  })
})
