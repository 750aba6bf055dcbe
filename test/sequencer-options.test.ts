import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Sequencer } from "../src/index.ts"

/** The defect's message, asserting it is an `IllegalArgumentException`. */
const defectMessage = <A, E>(exit: Exit.Exit<A, E>): string => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) return ""
  const defect = Cause.squash(exit.cause)
  expect(Cause.isIllegalArgumentException(defect)).toBe(true)
  return (defect as Cause.IllegalArgumentException).message
}

const makeWith = (options: unknown) =>
  Effect.exit(Effect.scoped(Sequencer.make(options as Sequencer.Options)))

describe("Sequencer: invalid options", () => {
  const cases: ReadonlyArray<[string, unknown, string]> = [
    ["no options", undefined, "Expected `options` to be an object, got `undefined` (undefined)"],
    [
      "capacity missing",
      {},
      "Expected `options.capacity` to be an integer ≥ 1, got `undefined` (undefined)"
    ],
    ["capacity 0", { capacity: 0 }, "Expected `options.capacity` to be an integer ≥ 1, got `0` (number)"],
    ["capacity 1.5", { capacity: 1.5 }, "Expected `options.capacity` to be an integer ≥ 1, got `1.5` (number)"],
    [
      "capacity Infinity",
      { capacity: Infinity },
      "Expected `options.capacity` to be an integer ≥ 1, got `Infinity` (number)"
    ],
    ["start -1", { capacity: 4, start: -1 }, "Expected `options.start` to be an integer ≥ 0, got `-1` (number)"],
    ["start NaN", { capacity: 4, start: NaN }, "Expected `options.start` to be an integer ≥ 0, got `NaN` (number)"],
    [
      "start as a string",
      { capacity: 4, start: "1" },
      "Expected `options.start` to be an integer ≥ 0, got `\"1\"` (string)"
    ],
    [
      "gapTimeout 0",
      { capacity: 4, gapTimeout: 0 },
      "Expected `options.gapTimeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `0` (number)"
    ],
    [
      "gapTimeout nonsense",
      { capacity: 4, gapTimeout: "soon" },
      "Expected `options.gapTimeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `\"soon\"` (string)"
    ],
    [
      "onGap unknown",
      { capacity: 4, gapTimeout: 10, onGap: "retry" },
      "Expected `options.onGap` to be one of \"skip\", \"fail\", got `\"retry\"` (string)"
    ],
    [
      "onGap without gapTimeout",
      { capacity: 4, onGap: "fail" },
      "Expected `options.onGap` to come with `options.gapTimeout`, got `\"fail\"` (string) and no gapTimeout"
    ],
    [
      "idleKeyTimeout negative",
      { capacity: 4, idleKeyTimeout: -5 },
      "Expected `options.idleKeyTimeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `-5` (number)"
    ],
    [
      "idleKeyTimeout infinite",
      { capacity: 4, idleKeyTimeout: Infinity },
      "Expected `options.idleKeyTimeout` to be a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …), got `Infinity` (number)"
    ],
    [
      "maxKeys 0",
      { capacity: 4, maxKeys: 0 },
      "Expected `options.maxKeys` to be an integer ≥ 1 or Infinity, got `0` (number)"
    ],
    [
      "maxKeys 2.5",
      { capacity: 4, maxKeys: 2.5 },
      "Expected `options.maxKeys` to be an integer ≥ 1 or Infinity, got `2.5` (number)"
    ]
  ]
  for (const [name, options, message] of cases) {
    it.effect(`${name}: dies naming the option and value`, () =>
      Effect.gen(function*() {
        expect(defectMessage(yield* makeWith(options))).toBe(message)
      }))
  }

  it.effect("accepts every documented form", () =>
    Effect.gen(function*() {
      const exits = yield* Effect.all([
        makeWith({ capacity: 1 }),
        makeWith({ capacity: 64, start: 1, gapTimeout: "1 second", onGap: "fail", idleKeyTimeout: 60_000 }),
        makeWith({ capacity: 2, maxKeys: Infinity, gapTimeout: 5, onGap: "skip" }),
        makeWith({ capacity: 2, start: undefined, gapTimeout: undefined, maxKeys: undefined })
      ])
      expect(exits.every(Exit.isSuccess)).toBe(true)
    }))
})

describe("Sequencer: invalid offers", () => {
  const badKeys: ReadonlyArray<[unknown, string]> = [
    ["", "`\"\"` (string)"],
    [NaN, "`NaN` (number)"],
    [undefined, "`undefined` (undefined)"],
    [null, "`null` (null)"],
    [{ id: 1 }, "`{\"id\":1}` (object)"]
  ]
  const badSequences: ReadonlyArray<[unknown, string]> = [
    [-1, "`-1` (number)"],
    [1.5, "`1.5` (number)"],
    [NaN, "`NaN` (number)"],
    [Infinity, "`Infinity` (number)"],
    [2 ** 53, "`9007199254740992` (number)"],
    ["3", "`\"3\"` (string)"]
  ]

  it.scoped("offer, offerAwait and next die on a bad key, naming it", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4 })
      for (const [key, shown] of badKeys) {
        const expected = `Expected \`key\` to be a non-empty string or a number (not NaN), got ${shown}`
        expect(defectMessage(yield* Effect.exit(sequencer.offer(key as string, 0, "v")))).toBe(expected)
        expect(defectMessage(yield* Effect.exit(sequencer.offerAwait(key as string, 0, "v")))).toBe(expected)
        expect(defectMessage(yield* Effect.exit(sequencer.next(key as string)))).toBe(expected)
      }
      expect(yield* sequencer.stats).toEqual({ keys: 0, buffered: 0, unread: 0 })
    }))

  it.scoped("offer and offerAwait die on a sequence that is not a safe integer ≥ start, naming it", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4 })
      for (const [sequence, shown] of badSequences) {
        const expected = `Expected \`sequence\` to be an integer ≥ options.start (0), got ${shown}`
        expect(defectMessage(yield* Effect.exit(sequencer.offer("k", sequence as number, "v")))).toBe(expected)
        expect(defectMessage(yield* Effect.exit(sequencer.offerAwait("k", sequence as number, "v")))).toBe(expected)
      }
      expect(yield* sequencer.stats).toEqual({ keys: 0, buffered: 0, unread: 0 })
    }))

  it.scoped("a sequence below options.start is invalid input, not a duplicate", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4, start: 10 })
      expect(defectMessage(yield* Effect.exit(sequencer.offer("k", 9, "v")))).toBe(
        "Expected `sequence` to be an integer ≥ options.start (10), got `9` (number)"
      )
    }))

  it.scoped("numbers and strings are different keys; 0 is a valid key", () =>
    Effect.gen(function*() {
      const sequencer = yield* Sequencer.make<string>({ capacity: 4 })
      yield* sequencer.offer(1, 0, "number")
      yield* sequencer.offer("1", 0, "string")
      yield* sequencer.offer(0, 0, "zero")
      expect(yield* sequencer.stats).toEqual({ keys: 3, buffered: 0, unread: 3 })
    }))
})
