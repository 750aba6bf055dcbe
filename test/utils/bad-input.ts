/**
 * The bad-input table: every public function and option, each class of bad
 * value that applies to it (wrong type, NaN, ±Infinity, negative, zero,
 * non-integer, too large, missing, empty), refused with the documented
 * error: `Cause.IllegalArgumentException` (effect 3; `IllegalArgumentError` on 4) (thrown by a synchronous function,
 * the defect of an effect or stream) whose message names the field path and
 * shows the value with its type. The cases are generated from one table
 * (groups of targets sharing a valid base input, and fields with the classes
 * that apply); docs/validation.md lists it.
 *
 * Each module's rows live beside its tests: test/<Module>/bad-input.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as runtime from "../../src/internal/runtime.ts"
import { defectOf, isIllegalArgumentError } from "./line.ts"

/**
 * The bad-input table's vocabulary: classes of bad values, each with how a
 * message must show it (written out here, not computed by the library's own
 * `describe`), and a probe that tells how a call refused a value.
 */

/** A bad value and its expected rendering in a message: `` `1.5` (number) ``. */
export interface BadValue {
  readonly name: string
  readonly value: unknown
  readonly shown: string
}

const bad = (name: string, value: unknown, shown: string): BadValue => ({ name, value, shown })

export const STRING = bad("string", "7", "`\"7\"` (string)")
export const OBJECT = bad("object", { n: 1 }, "`{\"n\":1}` (object)")
export const ARRAY = bad("array", [1], "`[1]` (array)")
export const NULL = bad("null", null, "`null` (null)")
export const BOOLEAN = bad("boolean", true, "`true` (boolean)")
export const NUMBER = bad("number", 7, "`7` (number)")
export const NAN = bad("NaN", NaN, "`NaN` (number)")
export const POSITIVE_INFINITY = bad("+Infinity", Infinity, "`Infinity` (number)")
export const NEGATIVE_INFINITY = bad("-Infinity", -Infinity, "`-Infinity` (number)")
export const NEGATIVE = bad("negative", -1, "`-1` (number)")
export const ZERO = bad("zero", 0, "`0` (number)")
export const NON_INTEGER = bad("non-integer", 1.5, "`1.5` (number)")
/** Above `Number.MAX_SAFE_INTEGER`: not an exact integer any more. */
export const UNSAFE = bad("too large (2^53)", 2 ** 53, "`9007199254740992` (number)")
export const MISSING = bad("missing", undefined, "`undefined` (undefined)")
export const EMPTY = bad("empty string", "", "`\"\"` (string)")

/** A value above a documented upper bound. */
export const tooLarge = (value: number): BadValue => bad(`too large (${value})`, value, `\`${value}\` (number)`)

/** Not a number at all. */
export const WRONG_TYPES: ReadonlyArray<BadValue> = [STRING, OBJECT, NULL, BOOLEAN]
/** Every class a count (an integer ≥ 1) must refuse. */
export const COUNT: ReadonlyArray<BadValue> = [
  ...WRONG_TYPES,
  NAN,
  POSITIVE_INFINITY,
  NEGATIVE_INFINITY,
  NEGATIVE,
  ZERO,
  NON_INTEGER,
  UNSAFE
]
/** An integer ≥ 0: zero is fine. */
export const NATURAL: ReadonlyArray<BadValue> = COUNT.filter((v) => v !== ZERO)
/** Any safe integer: only the type, NaN, the infinities, fractions and unsafe sizes are wrong. */
export const INTEGER: ReadonlyArray<BadValue> = NATURAL.filter((v) => v !== NEGATIVE)
/** A finite duration > 0 (fractions and huge finite numbers are valid durations). */
export const DURATION: ReadonlyArray<BadValue> = [
  ...WRONG_TYPES,
  NAN,
  POSITIVE_INFINITY,
  NEGATIVE_INFINITY,
  NEGATIVE,
  ZERO
]
/** A finite number or duration ≥ 0: zero is fine. */
export const NON_NEGATIVE: ReadonlyArray<BadValue> = DURATION.filter((v) => v !== ZERO)
/** One of a few string literals. */
export const LITERAL: ReadonlyArray<BadValue> = [...WRONG_TYPES, NUMBER, EMPTY]
export const FUNCTION: ReadonlyArray<BadValue> = [...WRONG_TYPES, NUMBER]
/** A non-empty string. */
export const TEXT: ReadonlyArray<BadValue> = [OBJECT, NULL, BOOLEAN, NUMBER, EMPTY]
/** An options object (or any object). */
export const RECORD: ReadonlyArray<BadValue> = [STRING, ARRAY, NULL, BOOLEAN, NUMBER, MISSING]

/** How a call treated a value. */
export type Outcome =
  | { readonly _tag: "Accepted" }
  /** The bad-input defect (see above), thrown by a synchronous function or as the defect of an effect. */
  | { readonly _tag: "IllegalArgument"; readonly channel: "thrown" | "defect"; readonly message: string }
  /** Anything else: another exception or defect, a typed failure. */
  | { readonly _tag: "Other"; readonly channel: "thrown" | "defect" | "failure"; readonly error: unknown }

const classify = (error: unknown, channel: "thrown" | "defect"): Outcome =>
  isIllegalArgumentError(error)
    ? { _tag: "IllegalArgument", channel, message: error.message }
    : { _tag: "Other", channel, error }

/**
 * Calls `call` and, when it returns an Effect or a Stream, runs it (a stream
 * is drained). Effects must not wait on the clock: the ones probed here
 * refuse their input up front or finish at once.
 */
export const outcome = async (call: () => unknown): Promise<Outcome> => {
  let result: unknown
  try {
    result = call()
  } catch (error) {
    return classify(error, "thrown")
  }
  const effect = runtime.isStream(result)
    ? Stream.runDrain(result as Stream.Stream<unknown, unknown>)
    : Effect.isEffect(result)
    ? result as Effect.Effect<unknown, unknown>
    : undefined
  if (effect === undefined) return { _tag: "Accepted" }
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return { _tag: "Accepted" }
  const defect = defectOf(exit.cause)
  if (Option.isSome(defect)) return classify(defect.value, "defect")
  return { _tag: "Other", channel: "failure", error: Cause.squash(exit.cause) }
}

/** The outcome of refusing `value` at `path`, in the message format every public function uses. */
export const refusal = (
  channel: "thrown" | "defect",
  path: string,
  expected: string,
  value: BadValue
): Outcome => ({ _tag: "IllegalArgument", channel, message: `Expected \`${path}\` to be ${expected}, got ${value.shown}` })

// ------------------------------------------------------------------ the table


/** A public function under test: takes the group's input, returns a value, an Effect or a Stream. */
export interface Target {
  readonly name: string
  /** How it refuses: a synchronous function throws, an effect or stream dies. */
  readonly channel: "thrown" | "defect"
  readonly call: (input: any) => unknown
}

export interface Field {
  /** As the message names it. */
  readonly path: string
  /** What the message says is expected. */
  readonly expected: string
  readonly values: ReadonlyArray<BadValue>
  /** The group's input with this field set to `value` (`undefined`: left out). */
  readonly set: (value: unknown) => unknown
  /** Full messages for values refused with another wording (by value name). */
  readonly messages?: Readonly<Record<string, string>>
}

export interface Group {
  readonly name: string
  readonly targets: ReadonlyArray<Target>
  /** A valid input, accepted by every target; each case breaks one field of it. */
  readonly base: unknown
  /** Whether to check that the base input is accepted (false where it runs forever, e.g. a consumer). */
  readonly baseAccepted: boolean
  /** Other valid inputs: the documented forms, each accepted by every target. */
  readonly valid?: ReadonlyArray<unknown>
  readonly fields: ReadonlyArray<Field>
}

/** Sets (or, for `undefined`, removes) one key of a base object. */
export const option = (base: object, key: string) => (value: unknown): unknown => {
  const out: Record<string, unknown> = { ...base }
  if (value === undefined) delete out[key]
  else out[key] = value
  return out
}

export const required = (values: ReadonlyArray<BadValue>): ReadonlyArray<BadValue> => [...values, MISSING]
export const without = (values: ReadonlyArray<BadValue>, ...excluded: ReadonlyArray<BadValue>) =>
  values.filter((v) => !excluded.includes(v))
export const below = (value: number): BadValue => ({ name: `below the minimum (${value})`, value, shown: `\`${value}\` (number)` })

export const DURATION_ABOVE_ZERO = "a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …)"
export const DURATION_FROM_ZERO = "a finite duration ≥ 0 (milliseconds, \"1 second\", Duration.seconds(1), …)"

/**
 * The fields `Ordered` and `Simulation` share (Simulation hands them to
 * Ordered's validation; its concurrency is a number or "auto").
 */
export const orderedFields = (base: object, concurrency: string): ReadonlyArray<Field> => [
  { path: "options", expected: "an object", values: RECORD, set: (v) => v },
  { path: "options.concurrency", expected: concurrency, values: required(COUNT), set: option(base, "concurrency") },
  {
    path: "options.window",
    expected: "an integer ≥ concurrency (2), Infinity or \"auto\"",
    values: [...without(COUNT, POSITIVE_INFINITY), below(1)],
    set: option(base, "window")
  },
  {
    path: "options.maxWindow",
    expected: "an integer ≥ concurrency (2)",
    values: [...COUNT, below(1)],
    set: option(base, "maxWindow")
  },
  {
    path: "options.order",
    expected: "one of \"total\", \"key\", \"none\"",
    values: LITERAL,
    set: option(base, "order")
  }
]

// ------------------------------------------------------ the generated cases

/** One `describe` per group: the base and valid inputs accepted, each field × bad value refused. */
export const describeGroups = (groups: ReadonlyArray<Group>): void => {
  for (const group of groups) {
    describe(`bad input: ${group.name}`, () => {
      for (const target of group.targets) {
        if (group.baseAccepted) {
          it(`${target.name} accepts the valid base input`, async () => {
            expect(await outcome(() => target.call(group.base))).toEqual({ _tag: "Accepted" })
          })
        }
        for (const input of group.valid ?? []) {
          it(`${target.name} accepts ${JSON.stringify(input)}`, async () => {
            expect(await outcome(() => target.call(input))).toEqual({ _tag: "Accepted" })
          })
        }
        for (const field of group.fields) {
          for (const value of field.values) {
            it(`${target.name}: ${field.path} ${value.name}`, async () => {
              const message = field.messages?.[value.name]
              const expected: Outcome = message === undefined
                ? refusal(target.channel, field.path, field.expected, value)
                : { _tag: "IllegalArgument", channel: target.channel, message }
              expect(await outcome(() => target.call(field.set(value.value)))).toEqual(expected)
            })
          }
        }
      }
    })
  }
}

/** A field left out although another option needs it: targets, the input, the full message. */
export type Dependency = readonly [ReadonlyArray<Target>, unknown, string]

export const describeDependencies = (dependencies: ReadonlyArray<Dependency>): void => {
  describe("bad input: an option needs another", () => {
    for (const [targets, input, message] of dependencies) {
      for (const target of targets) {
        it(`${target.name}: ${message}`, async () => {
          expect(await outcome(() => target.call(input))).toEqual({
            _tag: "IllegalArgument",
            channel: target.channel,
            message
          })
        })
      }
    }
  })
}
