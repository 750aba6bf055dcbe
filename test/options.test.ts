import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Stream } from "effect"
import { Ordered } from "../src/index.ts"

const describeExit = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "succeeded"
  const defect = Option.getOrUndefined(Cause.dieOption(exit.cause))
  return Cause.isIllegalArgumentException(defect) ? defect.message : `not an IllegalArgumentException: ${defect}`
}

/** The defect message of an Ordered call with these options, run both as a stream and as forEach. */
const defectMessages = (options: unknown) =>
  Effect.gen(function*() {
    const f = (n: number) => Effect.succeed(n)
    const viaStream = yield* Effect.exit(
      Stream.runDrain(Ordered.mapEffect(Stream.make(1, 2), f, options as Ordered.Options<number>))
    )
    const viaForEach = yield* Effect.exit(Ordered.forEach([1, 2], f, options as Ordered.Options<number>))
    return [describeExit(viaStream), describeExit(viaForEach)]
  })

const cases: ReadonlyArray<readonly [string, unknown, string]> = [
  ["missing options", undefined, "Expected `options` to be an object, got `undefined` (undefined)"],
  ["missing concurrency", {}, "Expected `options.concurrency` to be an integer ≥ 1, got `undefined` (undefined)"],
  ["zero concurrency", { concurrency: 0 }, "Expected `options.concurrency` to be an integer ≥ 1, got `0` (number)"],
  ["negative concurrency", { concurrency: -3 }, "Expected `options.concurrency` to be an integer ≥ 1, got `-3` (number)"],
  ["fractional concurrency", { concurrency: 1.5 }, "Expected `options.concurrency` to be an integer ≥ 1, got `1.5` (number)"],
  ["NaN concurrency", { concurrency: NaN }, "Expected `options.concurrency` to be an integer ≥ 1, got `NaN` (number)"],
  [
    "infinite concurrency",
    { concurrency: Infinity },
    "Expected `options.concurrency` to be an integer ≥ 1, got `Infinity` (number)"
  ],
  [
    "string concurrency",
    { concurrency: "4" },
    "Expected `options.concurrency` to be an integer ≥ 1, got `\"4\"` (string)"
  ],
  [
    "window below concurrency",
    { concurrency: 100, window: 50 },
    "Expected `options.window` to be an integer ≥ concurrency (100), Infinity or \"auto\", got `50` (number)"
  ],
  [
    "NaN window",
    { concurrency: 2, window: NaN },
    "Expected `options.window` to be an integer ≥ concurrency (2), Infinity or \"auto\", got `NaN` (number)"
  ],
  [
    "maxWindow beside a fixed window",
    { concurrency: 2, window: 8, maxWindow: 16 },
    "Expected `options.maxWindow` to come with `options.window: \"auto\"`, got `16` (number) and window `8` (number)"
  ],
  [
    "maxWindow below concurrency",
    { concurrency: 4, window: "auto", maxWindow: 3 },
    "Expected `options.maxWindow` to be an integer ≥ concurrency (4), got `3` (number)"
  ],
  [
    "unknown order",
    { concurrency: 2, order: "fifo" },
    "Expected `options.order` to be one of \"total\", \"key\", \"none\", got `\"fifo\"` (string)"
  ],
  [
    "key order without key",
    { concurrency: 2, order: "key" },
    "Expected `options.key` to be a function when `options.order` is \"key\", got `undefined` (undefined)"
  ],
  ["key not a function", { concurrency: 2, key: "id" }, "Expected `options.key` to be a function, got `\"id\"` (string)"],
  [
    "keyConcurrency without key",
    { concurrency: 2, keyConcurrency: 2 },
    "Expected `options.keyConcurrency` to come with `options.key`, got `2` (number) and no key"
  ],
  [
    "zero keyConcurrency",
    { concurrency: 2, key: String, keyConcurrency: 0 },
    "Expected `options.keyConcurrency` to be an integer ≥ 1, got `0` (number)"
  ],
  [
    "negative timeout",
    { concurrency: 2, timeout: -5 },
    "Expected `options.timeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `-5` (number)"
  ],
  [
    "zero timeout",
    { concurrency: 2, timeout: 0 },
    "Expected `options.timeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `0` (number)"
  ],
  [
    "unparseable timeout",
    { concurrency: 2, timeout: "soon" },
    "Expected `options.timeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `\"soon\"` (string)"
  ],
  [
    "infinite timeout",
    { concurrency: 2, timeout: Infinity },
    "Expected `options.timeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `Infinity` (number)"
  ]
]

describe("options", () => {
  for (const [name, options, message] of cases) {
    it.effect(`rejects ${name} with a message naming the option and the value`, () =>
      Effect.gen(function*() {
        expect(yield* defectMessages(options)).toEqual([message, message])
      }))
  }

  it.effect("accepts the documented forms", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { concurrency: 1 },
          { concurrency: 3, window: 3 },
          { concurrency: 3, window: Infinity },
          { concurrency: 3, order: "none" as const },
          { concurrency: 3, key: (n: number) => n, order: "key" as const, keyConcurrency: 2 },
          { concurrency: 3, timeout: "1 second" },
          { concurrency: 3, window: undefined, order: undefined, key: undefined, timeout: undefined }
        ]
      ) {
        expect(yield* defectMessages(options)).toEqual(["succeeded", "succeeded"])
      }
    }))
})
