/** The bad-input table (test/utils/bad-input.ts, docs/validation.md): Ordered.mapEffect and Ordered.forEach. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Ordered } from "../../src/index.ts"
import {
  type BadValue,
  BOOLEAN,
  COUNT,
  describeDependencies,
  describeGroups,
  DURATION,
  DURATION_ABOVE_ZERO,
  EMPTY,
  FUNCTION,
  type Group,
  MISSING,
  NAN,
  NEGATIVE,
  NULL,
  NUMBER,
  OBJECT,
  option,
  orderedFields,
  outcome,
  POSITIVE_INFINITY,
  RECORD,
  refusal,
  STRING,
  type Target,
  TEXT,
  without,
  WRONG_TYPES,
  ZERO
} from "../utils/bad-input.ts"

// ---------------------------------------------------------------- Ordered

const succeed = (n: number) => Effect.succeed(n)
const orderedTargets: ReadonlyArray<Target> = [
  { name: "Ordered.mapEffect", channel: "defect", call: (o) => Ordered.mapEffect(Stream.make(1, 2, 3), succeed, o) },
  {
    name: "Ordered.mapEffect (data-last)",
    channel: "defect",
    call: (o) => Stream.make(1, 2, 3).pipe(Ordered.mapEffect(succeed, o))
  },
  { name: "Ordered.forEach", channel: "defect", call: (o) => Ordered.forEach([1, 2, 3], succeed, o) },
  { name: "Ordered.forEach (data-last)", channel: "defect", call: (o) => Ordered.forEach(succeed, o)([1, 2, 3]) }
]

const orderedBase = { concurrency: 2 }
/** A quantile of 1 would never hedge: refused with the rest. */
const bad1: BadValue = { name: "one", value: 1, shown: "`1` (number)" }
const keyed = { concurrency: 2, key: (n: number) => n % 2 }

const ordered: Group = {
  name: "Ordered",
  targets: orderedTargets,
  base: orderedBase,
  baseAccepted: true,
  valid: [
    { concurrency: 1 },
    { concurrency: 3, window: 3 },
    { concurrency: 3, window: Infinity },
    { concurrency: 3, order: "none" },
    { concurrency: 3, key: (n: number) => n, order: "key", keyConcurrency: 2 },
    { concurrency: 3, timeout: "1 second" },
    { concurrency: 3, name: "orders" },
    { concurrency: 3, window: undefined, order: undefined, key: undefined, timeout: undefined },
    { concurrency: "unbounded", window: 1 },
    { concurrency: "inherit" },
    { concurrency: "inherit", window: 1 },
    { concurrency: 3, window: "auto", maxWindow: 3 },
    { concurrency: "unbounded", maxWindow: 10 },
    { concurrency: 3, hedge: { after: "50 millis" } },
    { concurrency: 3, hedge: { quantile: 0.95 } },
    { concurrency: 3, hedge: { quantile: 0.5, minSamples: 1 } }
  ],
  fields: [
    ...orderedFields(orderedBase, "an integer ≥ 1, \"auto\", \"unbounded\" or \"inherit\""),
    { path: "options.key", expected: "a function", values: FUNCTION, set: option(orderedBase, "key") },
    { path: "options.keyConcurrency", expected: "an integer ≥ 1", values: COUNT, set: option(keyed, "keyConcurrency") },
    { path: "options.timeout", expected: DURATION_ABOVE_ZERO, values: DURATION, set: option(orderedBase, "timeout") },
    { path: "options.hedge", expected: "an object", values: without(RECORD, MISSING), set: option(orderedBase, "hedge") },
    {
      path: "options.hedge.after",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: (after) => ({ concurrency: 2, hedge: { after } })
    },
    {
      path: "options.hedge.quantile",
      expected: "a number between 0 and 1 (both excluded)",
      values: [...WRONG_TYPES, NAN, POSITIVE_INFINITY, NEGATIVE, ZERO, bad1],
      set: (quantile) => ({ concurrency: 2, hedge: { quantile } })
    },
    {
      path: "options.hedge.minSamples",
      expected: "an integer ≥ 1",
      values: COUNT,
      set: (minSamples) => ({ concurrency: 2, hedge: { quantile: 0.9, minSamples } })
    },
    { path: "options.name", expected: "a non-empty string", values: TEXT, set: option(orderedBase, "name") },
    {
      // What `key` returns, checked per input (input 0 is the first admitted).
      path: "options.key(input 0)",
      expected: "a non-empty string or a number",
      values: [EMPTY, NAN, NULL, MISSING, OBJECT, BOOLEAN],
      set: (value) => ({ concurrency: 2, key: () => value })
    }
  ]
}

const orderedUnbounded: Group = {
  name: "Ordered, concurrency \"unbounded\"",
  targets: orderedTargets,
  base: { concurrency: "unbounded" },
  baseAccepted: true,
  fields: [{
    path: "options.window",
    expected: "an integer ≥ 1, Infinity or \"auto\"",
    values: without(COUNT, POSITIVE_INFINITY),
    set: option({ concurrency: "unbounded" }, "window")
  }, {
    path: "options.maxWindow",
    expected: "an integer ≥ 1",
    values: COUNT,
    set: option({ concurrency: "unbounded" }, "maxWindow")
  }]
}

const orderedForEach: Group = {
  name: "Ordered.forEach",
  targets: orderedTargets.filter((target) => target.name.startsWith("Ordered.forEach")),
  base: orderedBase,
  baseAccepted: true,
  valid: [{ concurrency: 2, discard: true }, { concurrency: 2, discard: false }],
  fields: [{
    path: "options.discard",
    expected: "a boolean",
    values: [STRING, OBJECT, NULL, NUMBER],
    set: option(orderedBase, "discard")
  }]
}

describeGroups([ordered, orderedUnbounded, orderedForEach])

// ------------------------------------------------- fields that need another

describeDependencies([
  [
    orderedTargets,
    { concurrency: 2, order: "key" },
    "Expected `options.key` to be a function when `options.order` is \"key\", got `undefined` (undefined)"
  ],
  [
    orderedTargets,
    { concurrency: 2, keyConcurrency: 2 },
    "Expected `options.keyConcurrency` to come with `options.key`, got `2` (number) and no key"
  ],
  [
    orderedTargets,
    { concurrency: 2, window: 8, maxWindow: 16 },
    "Expected `options.maxWindow` to come with `options.window: \"auto\"`, got `16` (number) and window `8` (number)"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: { after: 5, minSamples: 3 } },
    "Expected `options.hedge.minSamples` to come with `options.hedge.quantile`, got `3` (number) and no quantile"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: { after: 5, quantile: 0.9 } },
    "Expected `options.hedge` to be one of { after } or { quantile, minSamples? }, not both, got `{\"after\":5,\"quantile\":0.9}` (object)"
  ],
  [
    orderedTargets,
    { concurrency: 2, hedge: {} },
    "Expected `options.hedge` to be { after: Duration } or { quantile: number, minSamples?: number }, got `{}` (object)"
  ]
])

// ------------------------------------------------ user functions that throw

describe("bad input: user functions that throw", () => {
  const thrown = new Error("thrown by the caller's function")
  const raise = (): never => {
    throw thrown
  }
  const inOrders = [
    { concurrency: 2 },
    { concurrency: 2, order: "none" as const },
    { concurrency: 2, order: "key" as const, key: (n: number) => n % 2 }
  ]
  const calls: ReadonlyArray<readonly [string, (options: Ordered.Options<number>) => unknown]> = [
    ["Ordered.mapEffect, f throws", (o) => Ordered.mapEffect(Stream.make(1, 2, 3), raise, o)],
    ["Ordered.forEach, f throws", (o) => Ordered.forEach([1, 2, 3], raise, o)],
    ["Ordered.mapEffect, key throws", (o) => Ordered.mapEffect(Stream.make(1, 2, 3), succeed, { ...o, key: raise })],
    ["Ordered.forEach, key throws", (o) => Ordered.forEach([1, 2, 3], succeed, { ...o, key: raise })]
  ]
  for (const [name, call] of calls) {
    for (const options of inOrders) {
      it(`${name} (order ${options.order ?? "total"}): dies with the thrown error itself`, async () => {
        expect(await outcome(() => call(options))).toEqual({ _tag: "Other", channel: "defect", error: thrown })
      })
    }
  }
})

// ------------------------------------------------------------ defects found

describe("regressions: defects this table found in Ordered, fixed", () => {
  const expectRefusal = async (call: () => unknown, path: string, expected: string, value: BadValue) =>
    expect(await outcome(call)).toEqual(refusal("defect", path, expected, value))

  // Was: `f` was not validated; the engine calls it and dies with
  // `TypeError: this.f is not a function`, which names neither the argument nor the value.
  it("Ordered.mapEffect / forEach: f not a function is refused naming `f`", async () => {
    for (const value of FUNCTION) {
      await expectRefusal(() => Ordered.forEach([1], value.value as any, { concurrency: 1 }), "f", "a function", value)
      await expectRefusal(
        () => Ordered.mapEffect(Stream.make(1), value.value as any, { concurrency: 1 }),
        "f",
        "a function",
        value
      )
    }
  })

  // Was: what `f` returns was used as an Effect unchecked; a
  // non-Effect dies with Effect's "Not a valid effect: 42", naming neither `f` nor the input.
  it("Ordered: f returning a non-Effect is refused naming f and the input", async () => {
    const result = await outcome(() => Ordered.forEach([1], (() => 42) as any, { concurrency: 1 }))
    expect(result._tag).toBe("IllegalArgument")
    expect(result._tag === "IllegalArgument" && result.message).toContain("`f(input 0)`")
    expect(result._tag === "IllegalArgument" && result.message).toContain("`42` (number)")
  })

  // Was: shown as their JSON, `{}` for a Promise (an `async` f) and the Stream's internals for a Stream.
  it("Ordered: a Promise where an Effect is expected, and a Stream where an Iterable is, are named as such", async () => {
    const promised = await outcome(() => Ordered.forEach([1], (async (n: number) => n) as any, { concurrency: 1 }))
    expect(promised._tag === "IllegalArgument" && promised.message).toBe("Expected `f(input 0)` to be an Effect, got `[Promise]` (object)")
    const streamed = await outcome(() => Ordered.forEach(Stream.make(1, 2) as any, succeed, { concurrency: 1 }))
    expect(streamed._tag === "IllegalArgument" && streamed.message).toBe("Expected `iterable` to be an Iterable, got `[Stream]` (object)")
  })

  // Was: a non-iterable died with a TypeError
  // ("iterable[Symbol.iterator] is not a function", "undefined is not iterable").
  it("Ordered.forEach: a non-iterable input is refused naming it", async () => {
    for (const value of [NUMBER, OBJECT, NULL, MISSING]) {
      const result = await outcome(() => Ordered.forEach(value.value as any, succeed, { concurrency: 1 }))
      expect(result._tag).toBe("IllegalArgument")
      expect(result._tag === "IllegalArgument" && result.message).toContain(value.shown)
    }
  })

  // Was: `dual(3, …)` read a call with the options left out,
  // forEach(items, f), as the data-last form and returns a function instead of an Effect.
  it("Ordered.forEach / mapEffect: options left out in the data-first form are refused", async () => {
    expect(await outcome(() => (Ordered.forEach as any)([1], succeed))).toEqual(
      refusal("defect", "options", "an object", MISSING)
    )
    expect(await outcome(() => (Ordered.mapEffect as any)(Stream.make(1), succeed))).toEqual(
      refusal("defect", "options", "an object", MISSING)
    )
  })

})
