import type * as Duration from "effect/Duration"
import type { LimitOptions } from "./concurrencyLimit.ts"
import { type HedgePolicy, resolveHedge } from "./hedge.ts"
import * as V from "./validate.ts"
import * as runtime from "./runtime.ts"

/** @internal */
export type Order = "total" | "key" | "none"

/** @internal */
export type Key = string | number

/**
 * A fixed window's default, and where `window: "auto"` starts: this multiple
 * of `concurrency`, the smallest that brings the reference workload (1000
 * actions, latency uniform in 0–99 ms, concurrency 100) within 2% of the
 * unbounded-window makespan in simulated time. `npm run bench` prints the
 * measurement (docs/benchmarks.md, "Choosing the fixed window").
 *
 * @internal
 */
export const DEFAULT_WINDOW_FACTOR = 3

/**
 * `window: "auto"` grows to at most this multiple of `concurrency` unless
 * `maxWindow` says otherwise: the smallest power of two that keeps a
 * heavy-tailed workload (log-normal, median 20 ms, σ 1.2; 10,000 actions,
 * concurrency 100) within 5% of the unbounded makespan on each of seeds
 * 1–20 (64× misses one seed by 31%). `npm run bench` prints the measurement
 * (docs/ordered.md, "Choosing the window").
 *
 * @internal
 */
export const DEFAULT_MAX_WINDOW_FACTOR = 128

/** @internal */
export interface ResolvedOptions<A> {
  /** `Infinity` for `"unbounded"`; `maxConcurrency` for `"auto"`. */
  readonly concurrency: number
  /** `concurrency: "auto"`: the bounds of the limit; `undefined` for a fixed concurrency. */
  readonly limit: LimitOptions | undefined
  /** A fixed window (`Infinity` when unbounded), or where an automatic one starts. */
  readonly window: number
  /** `window: "auto"`: the most it grows to; `undefined` for a fixed window. */
  readonly maxWindow: number | undefined
  readonly order: Order
  readonly key: ((a: A) => Key) | undefined
  /** `Infinity` when there is no `key`. */
  readonly keyConcurrency: number
  readonly timeout: Duration.Duration | undefined
  readonly hedge: HedgePolicy | undefined
  /** Tags the run's metrics and spans; none recorded without it. */
  readonly name: string | undefined
}

const ORDERS = ["total", "key", "none"] as const

/**
/**
 * A window: an integer ≥ `concurrency`, `Infinity` for none, or `"auto"`.
 * With unbounded concurrency, any integer ≥ 1: the window is then the bound.
 *
 * @internal
 */
export const checkWindow = (path: string, value: unknown, concurrency: number): number | "auto" =>
  value === Infinity || value === "auto"
    ? value
    : V.integerAtLeast(
      path,
      value,
      concurrency === Infinity ? 1 : concurrency,
      atLeastConcurrency(concurrency, ", Infinity or \"auto\"")
    )

/** What a window must be at least, in words: `an integer ≥ concurrency (4)`, or `≥ 1` when it is unbounded. */
const atLeastConcurrency = (concurrency: number, alternatives: string): string =>
  concurrency === Infinity ? `an integer ≥ 1${alternatives}` : `an integer ≥ concurrency (${concurrency})${alternatives}`

/**
 * The window options resolved: a fixed window, or an automatic one (the
 * default) with where it starts and how far it may grow. Unbounded
 * concurrency leaves the window unbounded unless `maxWindow` bounds it.
 *
 * @internal
 */
export const resolveWindow = (
  window: unknown,
  maxWindow: unknown,
  concurrency: number
): { readonly window: number; readonly maxWindow: number | undefined } => {
  const checked = window === undefined ? "auto" : checkWindow("options.window", window, concurrency)
  if (checked !== "auto") {
    if (maxWindow !== undefined) {
      throw V.comesWith("options.maxWindow", maxWindow, "options.window: \"auto\"", `window ${V.describe(window)}`)
    }
    return { window: checked, maxWindow: undefined }
  }
  const max = V.optionalIntegerAtLeast(
    "options.maxWindow",
    maxWindow,
    concurrency === Infinity ? 1 : concurrency,
    atLeastConcurrency(concurrency, "")
  ) ?? concurrency * DEFAULT_MAX_WINDOW_FACTOR
  const start = Math.min(concurrency * DEFAULT_WINDOW_FACTOR, max)
  // Nowhere to grow: a fixed window.
  return start === max ? { window: max, maxWindow: undefined } : { window: start, maxWindow: max }
}

/**
 * `concurrency`: an integer ≥ 1, `"auto"`, `"unbounded"` (`Infinity`), or
 * `"inherit"`: the fiber's `Effect.withConcurrency` as `Effect.forEach` reads
 * it (unbounded by default; a number below 2 runs one at a time). Without
 * `inherited` (no fiber to inherit from) only an integer or `"auto"` is accepted.
 */
const checkConcurrency = (value: unknown, inherited: number | "unbounded" | undefined): number | "auto" => {
  if (value === "auto") return value
  if (inherited === undefined) return V.integerAtLeast("options.concurrency", value, 1, "an integer ≥ 1 or \"auto\"")
  if (value === "unbounded") return Infinity
  if (value === "inherit") return inherited === "unbounded" ? Infinity : inherited > 1 ? Math.floor(inherited) : 1
  return V.integerAtLeast("options.concurrency", value, 1, "an integer ≥ 1, \"auto\", \"unbounded\" or \"inherit\"")
}

/**
 * `concurrency: "auto"`: the most the limit grows to when `maxConcurrency`
 * is not given. A bound on what the downstream may ever see at once, not a
 * target: the limit starts at 20 and grows only while latency allows.
 *
 * @internal
 */
export const DEFAULT_MAX_CONCURRENCY = 1000

/**
 * `concurrency` with `maxConcurrency` and `minConcurrency`: a fixed bound, or
 * `"auto"` with the bounds of its limit (`concurrency` is then the most).
 *
 * @internal
 */
export const resolveConcurrency = (
  o: Record<string, unknown>,
  inherited: number | "unbounded" | undefined
): { readonly concurrency: number; readonly limit: LimitOptions | undefined } => {
  const concurrency = checkConcurrency(o.concurrency, inherited)
  if (concurrency !== "auto") {
    for (const bound of ["maxConcurrency", "minConcurrency"] as const) {
      if (o[bound] !== undefined) {
        throw V.comesWith(`options.${bound}`, o[bound], "options.concurrency: \"auto\"", `concurrency ${V.describe(o.concurrency)}`)
      }
    }
    return { concurrency, limit: undefined }
  }
  const max = V.optionalIntegerAtLeast("options.maxConcurrency", o.maxConcurrency, 1) ?? DEFAULT_MAX_CONCURRENCY
  const min = o.minConcurrency === undefined ? 1 : V.integerBetween("options.minConcurrency", o.minConcurrency, 1, max)
  return { concurrency: max, limit: { min, max } }
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
  const { concurrency, limit } = resolveConcurrency(o, inherited)
  const { maxWindow, window } = resolveWindow(o.window, o.maxWindow, concurrency)
  const order = o.order === undefined ? "total" : V.oneOf("options.order", o.order, ORDERS)
  const key = o.key === undefined ? undefined : V.fn<(a: A) => Key>("options.key", o.key)
  if (order === "key" && key === undefined) {
    throw new runtime.IllegalArgumentException(
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
  const hedge = resolveHedge(o.hedge)
  const name = V.optionalText("options.name", o.name)
  return { concurrency, limit, window, maxWindow, order, key, keyConcurrency, timeout, hedge, name }
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
