import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as runtime from "./runtime.ts"

/**
 * Shared validation helpers: every public function checks its input up front
 * and throws `Cause.IllegalArgumentException` whose message names the field
 * and shows the bad value with its type, e.g.
 * `` Expected `options.concurrency` to be an integer ≥ 1, got `0` (number) ``.
 *
 * @internal
 */

/** Renders a value and its type the way messages show it: `` `0` (number) ``. */
export const describe = (value: unknown): string => {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value
  let shown: string
  switch (typeof value) {
    case "string":
      shown = JSON.stringify(value)
      break
    case "function":
      shown = value.name ? `[Function ${value.name}]` : "[Function]"
      break
    case "bigint":
      shown = `${value}n`
      break
    case "symbol":
      shown = value.toString()
      break
    case "object":
      // What a caller most often passes by mistake, named: their JSON is `{}` or the Stream's internals.
      if (value instanceof Promise) {
        shown = "[Promise]"
        break
      }
      if (runtime.isStream(value)) {
        shown = "[Stream]"
        break
      }
      try {
        shown = value === null ? "null" : JSON.stringify(value) ?? String(value)
      } catch {
        shown = String(value)
      }
      if (shown.length > 60) shown = `${shown.slice(0, 57)}...`
      break
    default:
      shown = Object.is(value, -0) ? "-0" : String(value)
  }
  return `\`${shown}\` (${type})`
}

export const invalid = (path: string, expected: string, value: unknown): runtime.IllegalArgumentException =>
  new runtime.IllegalArgumentException(`Expected \`${path}\` to be ${expected}, got ${describe(value)}`)

export const isInteger = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value)

/** An integer ≥ `min` (a safe integer: `Infinity` and `NaN` are rejected). */
export const integerAtLeast = (path: string, value: unknown, min: number, expected?: string): number => {
  if (isInteger(value) && value >= min) return value
  throw invalid(path, expected ?? `an integer ≥ ${min}`, value)
}

export const optionalIntegerAtLeast = (
  path: string,
  value: unknown,
  min: number,
  expected?: string
): number | undefined => value === undefined ? undefined : integerAtLeast(path, value, min, expected)

export const oneOf = <const L extends ReadonlyArray<string>>(
  path: string,
  value: unknown,
  literals: L
): L[number] => {
  if (typeof value === "string" && literals.includes(value)) return value
  throw invalid(path, `one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`, value)
}

export const fn = <F extends (...args: ReadonlyArray<never>) => unknown>(path: string, value: unknown): F => {
  if (typeof value === "function") return value as F
  throw invalid(path, "a function", value)
}

export const optionalBoolean = (path: string, value: unknown): boolean | undefined => {
  if (value === undefined || typeof value === "boolean") return value
  throw invalid(path, "a boolean", value)
}

/** A non-empty string, or `undefined`. */
export const optionalText = (path: string, value: unknown): string | undefined => {
  if (value === undefined || (typeof value === "string" && value.length > 0)) return value
  throw invalid(path, "a non-empty string", value)
}

export const record = (path: string, value: unknown): Record<string, unknown> => {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  throw invalid(path, "an object", value)
}

/**
 * A duration > 0 that can be waited on: a `Duration.DurationInput` (number of
 * milliseconds, `"1 second"`, `Duration.seconds(1)`, …), finite and positive.
 */
export const positiveDuration = (path: string, value: unknown): Duration.Duration => {
  const decoded = runtime.decodeDurationOption(value as runtime.DurationInput)
  if (decoded._tag === "Some" && Duration.isFinite(decoded.value) && runtime.durationGreaterThan(decoded.value, Duration.zero)) {
    return decoded.value
  }
  throw invalid(path, "a finite duration > 0 (milliseconds, \"1 second\", Duration.seconds(1), …)", value)
}

export const optionalPositiveDuration = (path: string, value: unknown): Duration.Duration | undefined =>
  value === undefined ? undefined : positiveDuration(path, value)

/** A finite number in [min, max] (`NaN` and ±`Infinity` are rejected). */
export const finiteNumberBetween = (
  path: string,
  value: unknown,
  min: number,
  max: number,
  expected?: string
): number => {
  if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) return value
  throw invalid(path, expected ?? `a finite number between ${min} and ${max}`, value)
}

/** A finite duration ≥ 0 (zero allowed), as a `Duration.DurationInput`. */
export const nonNegativeDuration = (path: string, value: unknown): Duration.Duration => {
  // Duration.decode reads a negative or NaN number as zero: reject it here.
  const decoded = typeof value === "number" && !(value >= 0)
    ? Option.none()
    : runtime.decodeDurationOption(value as runtime.DurationInput)
  if (decoded._tag === "Some" && Duration.isFinite(decoded.value)) return decoded.value
  throw invalid(path, "a finite duration ≥ 0 (milliseconds, \"1 second\", Duration.seconds(1), …)", value)
}

/**
 * An integer in [min, max]: below `min` (or not a safe integer) it is
 * rejected as by `integerAtLeast`; above `max` the message names both bounds.
 */
export const integerBetween = (path: string, value: unknown, min: number, max: number): number => {
  const n = integerAtLeast(path, value, min)
  if (n <= max) return n
  throw invalid(path, `an integer between ${min} and ${max}`, value)
}

/**
 * An option that only means something beside another: refused when its
 * companion is missing, e.g. `` Expected `options.onGap` to come with
 * `options.gapTimeout`, got `"fail"` (string) and no gapTimeout ``, or has
 * a value that leaves it meaningless (`instead` says what was there).
 */
export const comesWith = (
  path: string,
  value: unknown,
  companion: string,
  instead = `no ${companion.split(".").pop()}`
): runtime.IllegalArgumentException =>
  new runtime.IllegalArgumentException(
    `Expected \`${path}\` to come with \`${companion}\`, got ${describe(value)} and ${instead}`
  )

/** A key of `Ordered` or `Sequencer`: a non-empty string or a number that is not NaN. */
export const isKey = (value: unknown): value is string | number =>
  (typeof value === "string" && value.length > 0) || (typeof value === "number" && !Number.isNaN(value))

