/** The bad-input table (test/utils/bad-input.ts, docs/validation.md): Sequencer.make and its offers. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Sequencer } from "../../src/index.ts"
import {
  below,
  BOOLEAN,
  COUNT,
  describeDependencies,
  describeGroups,
  DURATION,
  DURATION_ABOVE_ZERO,
  EMPTY,
  type Group,
  LITERAL,
  MISSING,
  NAN,
  NATURAL,
  NULL,
  OBJECT,
  option,
  outcome,
  POSITIVE_INFINITY,
  RECORD,
  required,
  TEXT,
  tooLarge,
  without
} from "../utils/bad-input.ts"
import { catchAllDefect } from "../utils/line.ts"

const sequencerMake: Group = {
  name: "Sequencer.make",
  targets: [{ name: "Sequencer.make", channel: "defect", call: (o) => Effect.scoped(Sequencer.make(o)) }],
  base: { capacity: 4 },
  baseAccepted: true,
  valid: [
    { capacity: 1 },
    { capacity: 64, start: 1, gapTimeout: "1 second", onGap: "fail", idleKeyTimeout: 60_000 },
    { capacity: 2, maxKeys: Infinity, gapTimeout: 5, onGap: "skip" },
    { capacity: 2, start: undefined, gapTimeout: undefined, maxKeys: undefined },
    { capacity: 2, name: "reassembly" }
  ],
  fields: [
    { path: "options", expected: "an object", values: RECORD, set: (v) => v },
    {
      path: "options.capacity",
      expected: "an integer ≥ 1",
      values: [...required(COUNT), tooLarge(2 ** 31 + 1)],
      set: option({ capacity: 4 }, "capacity"),
      messages: {
        [tooLarge(2 ** 31 + 1).name]:
          "Expected `options.capacity` to be an integer between 1 and 2147483648, got `2147483649` (number)"
      }
    },
    { path: "options.start", expected: "an integer ≥ 0", values: NATURAL, set: option({ capacity: 4 }, "start") },
    {
      path: "options.gapTimeout",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: option({ capacity: 4 }, "gapTimeout")
    },
    {
      path: "options.onGap",
      expected: "one of \"skip\", \"fail\"",
      values: LITERAL,
      set: option({ capacity: 4, gapTimeout: 10 }, "onGap")
    },
    {
      path: "options.idleKeyTimeout",
      expected: DURATION_ABOVE_ZERO,
      values: DURATION,
      set: option({ capacity: 4 }, "idleKeyTimeout")
    },
    {
      path: "options.maxKeys",
      expected: "an integer ≥ 1 or Infinity",
      values: without(COUNT, POSITIVE_INFINITY),
      set: option({ capacity: 4 }, "maxKeys")
    },
    { path: "options.name", expected: "a non-empty string", values: TEXT, set: option({ capacity: 4 }, "name") }
  ]
}

/**
 * Runs `use` on a fresh sequencer (capacity 4) whose stream is drained by a
 * forked consumer. A refusal must leave it untouched (no key, nothing
 * buffered): otherwise the run dies with another defect than the refusal.
 */
const withSequencer = <A, E>(use: (sequencer: Sequencer.Sequencer<string>) => Effect.Effect<A, E>, start = 0) =>
  Effect.scoped(Effect.gen(function*() {
    const sequencer = yield* Sequencer.make<string>({ capacity: 4, start })
    yield* Effect.forkScoped(Stream.runDrain(sequencer.stream))
    return yield* catchAllDefect(use(sequencer), (defect) =>
      Effect.flatMap(sequencer.stats, (stats) =>
        Effect.die(stats.keys === 0 && stats.buffered === 0 ? defect : `half-applied: ${JSON.stringify(stats)}`)))
  }))

const KEY = "a non-empty string or a number (not NaN)"
const BAD_KEYS = [OBJECT, NULL, BOOLEAN, NAN, EMPTY, MISSING]
const offerBase = { key: "k", sequence: 0 }

const sequencerOffers: Group = {
  name: "Sequencer offers",
  targets: [
    { name: "offer", channel: "defect", call: (i) => withSequencer((s) => s.offer(i.key, i.sequence, "v")) },
    { name: "offerAwait", channel: "defect", call: (i) => withSequencer((s) => s.offerAwait(i.key, i.sequence, "v")) }
  ],
  base: offerBase,
  baseAccepted: true,
  fields: [
    { path: "key", expected: KEY, values: BAD_KEYS, set: (key) => ({ ...offerBase, key }) },
    {
      path: "sequence",
      expected: "an integer ≥ options.start (0)",
      values: required(NATURAL),
      set: (sequence) => ({ ...offerBase, sequence })
    }
  ]
}

const sequencerOffersAfterStart: Group = {
  name: "Sequencer offers, start 10",
  targets: [{ name: "offer", channel: "defect", call: (sequence) => withSequencer((s) => s.offer("k", sequence, "v"), 10) }],
  base: 10,
  baseAccepted: true,
  // Below start: invalid input, not a duplicate.
  fields: [{ path: "sequence", expected: "an integer ≥ options.start (10)", values: [below(9)], set: (sequence) => sequence }]
}

const sequencerNext: Group = {
  name: "Sequencer next",
  targets: [{ name: "next", channel: "defect", call: (key) => withSequencer((s) => s.next(key)) }],
  base: "k",
  baseAccepted: true,
  fields: [{ path: "key", expected: KEY, values: BAD_KEYS, set: (key) => key }]
}

describeGroups([sequencerMake, sequencerOffers, sequencerOffersAfterStart, sequencerNext])

describeDependencies([
  [
    sequencerMake.targets,
    { capacity: 4, onGap: "skip" },
    "Expected `options.onGap` to come with `options.gapTimeout`, got `\"skip\"` (string) and no gapTimeout"
  ]
])

describe("bad input: typed refusals and regressions", () => {
  it("Sequencer capacity above 2^31 is refused up front instead of a RangeError on a far-ahead offer", async () => {
    // The ring of a key with capacity c holds up to the next power of two ≥ c slots: 2^31 still fits an array.
    expect(await outcome(() => Effect.scoped(Sequencer.make({ capacity: 2 ** 31 })))).toEqual({ _tag: "Accepted" })
    expect(await outcome(() => Effect.scoped(Sequencer.make({ capacity: 2 ** 40 })))).toEqual({
      _tag: "IllegalArgument",
      channel: "defect",
      message: "Expected `options.capacity` to be an integer between 1 and 2147483648, got `1099511627776` (number)"
    })
  })
})
