import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as V from "./validate.ts"

/** @internal */
export type Order = "total" | "key" | "none"

/** @internal */
export type Key = string | number

/**
 * The default `window` is this multiple of `concurrency`: the smallest that
 * brings the reference workload (1000 actions, latency uniform in 0–99 ms,
 * concurrency 100) within 2% of the unbounded-window makespan in simulated
 * time. `npm run bench` prints the measurement (see docs/ordered.md, "Choosing window").
 *
 * @internal
 */
export const DEFAULT_WINDOW_FACTOR = 3

/** @internal */
export interface ResolvedOptions<A> {
  /** `Infinity` for `"unbounded"`. */
  readonly concurrency: number
  /** `Infinity` when unbounded. */
  readonly window: number
  readonly order: Order
  readonly key: ((a: A) => Key) | undefined
  /** `Infinity` when there is no `key`. */
  readonly keyConcurrency: number
  readonly timeout: Duration.Duration | undefined
  /** Tags the run's metrics and spans; none recorded without it. */
  readonly name: string | undefined
}

const ORDERS = ["total", "key", "none"] as const

/**
 * A window: an integer ≥ `concurrency`, or `Infinity` for none. With
 * unbounded concurrency, any integer ≥ 1: the window is then the bound.
 *
 * @internal
 */
export const checkWindow = (path: string, value: unknown, concurrency: number): number =>
  value === Infinity
    ? Infinity
    : concurrency === Infinity
    ? V.integerAtLeast(path, value, 1, "an integer ≥ 1 or Infinity")
    : V.integerAtLeast(path, value, concurrency, `an integer ≥ concurrency (${concurrency}) or Infinity`)

/**
 * `concurrency`: an integer ≥ 1, `"unbounded"` (`Infinity`), or `"inherit"`:
 * the fiber's `Effect.withConcurrency` as `Effect.forEach` reads it
 * (unbounded by default; a number below 2 runs one at a time). Without
 * `inherited` (no fiber to inherit from) only an integer is accepted.
 */
const checkConcurrency = (value: unknown, inherited: number | "unbounded" | undefined): number => {
  if (inherited === undefined) return V.integerAtLeast("options.concurrency", value, 1)
  if (value === "unbounded") return Infinity
  if (value === "inherit") return inherited === "unbounded" ? Infinity : inherited > 1 ? Math.floor(inherited) : 1
  return V.integerAtLeast("options.concurrency", value, 1, "an integer ≥ 1, \"unbounded\" or \"inherit\"")
}

/**
 * Validates `Ordered` options once, up front; throws
 * `Cause.IllegalArgumentException` naming the option and the bad value.
 * `inherited` is the running fiber's concurrency, for `"inherit"`.
 *
 * @internal
 */
export const resolveOptions = <A>(
  options: unknown,
  inherited: number | "unbounded" | undefined
): ResolvedOptions<A> => {
  const o = V.record("options", options)
  const concurrency = checkConcurrency(o.concurrency, inherited)
  const window = o.window === undefined
    ? concurrency * DEFAULT_WINDOW_FACTOR
    : checkWindow("options.window", o.window, concurrency)
  const order = o.order === undefined ? "total" : V.oneOf("options.order", o.order, ORDERS)
  const key = o.key === undefined ? undefined : V.fn<(a: A) => Key>("options.key", o.key)
  if (order === "key" && key === undefined) {
    throw new Cause.IllegalArgumentException(
      "Expected `options.key` to be a function when `options.order` is \"key\", got `undefined` (undefined)"
    )
  }
  if (o.keyConcurrency !== undefined && key === undefined) {
    throw V.comesWith("options.keyConcurrency", o.keyConcurrency, "options.key")
  }
  const keyConcurrency = key === undefined
    ? Infinity
    : V.optionalIntegerAtLeast("options.keyConcurrency", o.keyConcurrency, 1) ?? 1
  const timeout = V.optionalPositiveDuration("options.timeout", o.timeout)
  const name = V.optionalText("options.name", o.name)
  return { concurrency, window, order, key, keyConcurrency, timeout, name }
}

/**
 * Checks what `options.key` returned for one action: a non-empty string or a
 * number that is not NaN.
 *
 * @internal
 */
export const checkKey = (key: unknown, index: number): Key => {
  if (V.isKey(key)) return key
  throw V.invalid(`options.key(input ${index})`, "a non-empty string or a number", key)
}
