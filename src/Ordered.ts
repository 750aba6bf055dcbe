/**
 * Run costly actions concurrently and release their results in order.
 *
 * Every operator here is driven by one engine: up to `concurrency` workers,
 * recruited as work appears, a reorder window of at most `window` actions
 * taken but not yet emitted, and an emission order (`"total"`, `"key"` or
 * `"none"`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { ActionTimeoutError } from "./errors.ts"
import * as hedge from "./internal/hedge.ts"
import * as options from "./internal/options.ts"
import * as internal from "./internal/ordered.ts"
import type * as runtime from "./internal/runtime.ts"

/**
 * Options shared by every `Ordered` operator. Invalid options make the
 * stream or effect die with `Cause.IllegalArgumentException` whose message
 * names the option and the bad value, e.g.
 * `` Expected `options.window` to be an integer ≥ concurrency (100), Infinity or "auto", got `50` (number) ``.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<
  A,
  Timeout extends runtime.DurationInput | undefined = runtime.DurationInput | undefined
> {
  /**
   * At most this many actions run at once: an integer ≥ 1, `"unbounded"`,
   * `"inherit"` to follow `Effect.withConcurrency` as `Effect.forEach` does
   * (unbounded unless set; a number below 2 runs one at a time; effect 4 has
   * no ambient concurrency, so there it is `"unbounded"`), or
   * `"auto"`: a limit between `minConcurrency` and `maxConcurrency` that
   * starts at 20, grows while the actions' own latency stays near what the
   * downstream gives unloaded, and backs off when it rises (requests queue
   * downstream) or an attempt times out. Hedged copies count against it;
   * with a `key` it bounds all keys together (docs/concurrency.md).
   */
  readonly concurrency: number | "auto" | "unbounded" | "inherit"
  /**
   * With `concurrency: "auto"`: the most actions that ever run at once. An
   * integer ≥ 1. Default: 1000. The window's bounds are measured against it.
   */
  readonly maxConcurrency?: number | undefined
  /**
   * With `concurrency: "auto"`: the limit never falls below this. An integer
   * from 1 to `maxConcurrency`. Default: 1.
   */
  readonly minConcurrency?: number | undefined
  /**
   * At most this many actions taken from upstream and not yet emitted
   * downstream: running, finished and waiting for an earlier one, or waiting
   * for their key. An integer ≥ `concurrency` (≥ 1 when concurrency is
   * unbounded), `Infinity` (no bound: memory then grows with a stalled
   * head), or `"auto"` (the default): the window starts at
   * `3 × concurrency`, grows while workers sit idle because it is full and
   * the consumer waits for the next result in order, shrinks back when its
   * occupancy stays well below its size, and never exceeds `maxWindow`. A
   * full window in front of a slow consumer does not grow it. With unbounded
   * concurrency the default is no bound.
   */
  readonly window?: number | "auto" | undefined
  /**
   * With `window: "auto"`: the most the window grows to, so that what a
   * stalled head holds stays bounded. An integer ≥ `concurrency`. Default:
   * `128 × concurrency`, measured to keep heavy-tailed latency within 5% of
   * the unbounded window (docs/ordered.md, "Choosing the window").
   */
  readonly maxWindow?: number | undefined
  /**
   * Emission order. `"total"` (default): input order. `"key"`: input order
   * within each key, keys independent (needs `key`). `"none"`: completion
   * order.
   */
  readonly order?: "total" | "key" | "none" | undefined
  /**
   * Groups actions: at most `keyConcurrency` actions of a key run at once,
   * started in input order. Called once per input, as it enters the window;
   * must return a non-empty string or a number. Required for `order: "key"`.
   */
  readonly key?: ((a: A) => string | number) | undefined
  /**
   * At most this many actions of one key run at once. An integer ≥ 1.
   * Default: 1 when `key` is given (same-key actions run one after another).
   */
  readonly keyConcurrency?: number | undefined
  /**
   * Per action: an action still running after this long is interrupted and
   * fails with {@link ActionTimeoutError}, which then joins the error type.
   * Measured on Effect's `Clock`. Default: none. With `hedge`, it covers
   * both attempts: measured from the first attempt's start.
   */
  readonly timeout?: Timeout | undefined
  /**
   * For idempotent actions only: when the action at the head of the order
   * (the lowest index not yet emitted; per key under `order: "key"`; any
   * action under `order: "none"`) has run longer than a threshold, a second
   * copy of it starts. The copy takes a worker like any action (never more
   * than `concurrency` in all) and goes before new actions. The first
   * attempt to succeed wins and the other is interrupted (its finalizers
   * run); the action fails only if both fail (with both causes), or at
   * `timeout`. At most one copy per action. `f` reads which attempt it runs
   * from {@link currentAttempt}.
   *
   * - `{ after }`: the threshold is this duration.
   * - `{ quantile, minSamples }`: the threshold is this quantile (0 < q < 1)
   *   of the durations of the actions completed so far in this run, read to
   *   within 2%; nothing is hedged before `minSamples` (default 100) have
   *   completed. `{ quantile: 0.95 }` hedges about the slowest 5% of heads.
   *
   * Default: no hedging.
   */
  readonly hedge?:
    | { readonly after: runtime.DurationInput }
    | { readonly quantile: number; readonly minSamples?: number | undefined }
    | undefined
  /**
   * Names the pipeline for observability. When set, the run records Effect
   * metrics tagged `pipeline=<name>` — `effect_ordered_in_flight` and
   * `effect_ordered_window` (gauges), `effect_ordered_emitted` and
   * `effect_ordered_failures` (counters), `effect_ordered_action_duration_ms`
   * and `effect_ordered_emit_delay_ms` (histograms) — and runs each action in
   * a span `effect-ordered.action` with attributes `pipeline`, `index` and
   * `key`. With `concurrency: "auto"`, also `effect_ordered_concurrency_limit`
   * (a gauge: the limit now). Without it nothing is recorded. A non-empty string.
   */
  readonly name?: string | undefined
}

/**
 * Options of {@link forEach}: those of every operator, plus `discard`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ForEachOptions<
  A,
  Timeout extends runtime.DurationInput | undefined = runtime.DurationInput | undefined,
  Discard extends boolean = boolean
> extends Options<A, Timeout> {
  /**
   * `true`: run for the effects only; the run succeeds with `void` and keeps
   * no result, as `Effect.forEach(…, { discard: true })`. Default: `false`.
   */
  readonly discard?: Discard | undefined
}

/**
 * The error an operator adds to `f`'s: {@link ActionTimeoutError} when
 * `timeout` is given, nothing otherwise.
 *
 * @since 0.2.0
 * @category models
 */
export type TimeoutError<Timeout> = [Timeout] extends [undefined] ? never : ActionTimeoutError

/**
 * Which attempt of an action `f` runs: `1`, or `2` for the copy that
 * `hedge` started. Read it with `yield*` for logs or an idempotency
 * key; outside `Ordered` it is `1`. Below, the first attempt at "slow"
 * hangs, and the copy started after 50 ms answers at once.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Ordered } from "effect-ordered"
 *
 * const quote = (sku: string) =>
 *   Effect.gen(function*() {
 *     const attempt = yield* Ordered.currentAttempt
 *     if (sku === "slow" && attempt === 1) yield* Effect.sleep("1 second")
 *     return `${sku} by attempt ${attempt}`
 *   })
 *
 * const program = Ordered.forEach(["a", "slow"], quote, { concurrency: 2, hedge: { after: "50 millis" } })
 * Effect.runPromise(program).then(console.log)
 * // [ 'a by attempt 1', 'slow by attempt 2' ]
 * ```
 *
 * @since 0.2.0
 * @category hedging
 */
export const currentAttempt: Effect.Effect<number> = hedge.currentAttempt.get

/**
 * Maps each element of a stream with an effectful `f`, running up to
 * `concurrency` actions at once, and emits the results in order.
 *
 * - Every input is emitted exactly once, in `order`, as soon as everything
 *   before it has been emitted; ready results leave as one chunk.
 * - Failure, `order: "total"`: when action `i` fails, every earlier action is
 *   still awaited and emitted, then the stream fails with `i`'s cause;
 *   nothing new is taken once the failure is known, and later actions in
 *   flight are interrupted. Other orders: the stream emits what was already
 *   released, then fails with the first failure observed. A defect (a throw
 *   in `f`) behaves like a failure and keeps its cause.
 * - Early stop (`Stream.take`, interruption) and upstream failure interrupt
 *   every action in flight and wait for its finalizers.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Ordered } from "effect-ordered"
 *
 * // The actions sleep 7, 4, 1, 8 and 5 ms.
 * const program = Stream.range(1, 5).pipe(
 *   Ordered.mapEffect((n) => Effect.as(Effect.sleep(`${(n * 37) % 10} millis`), n * 2), { concurrency: 4 }),
 *   Stream.runCollect
 * )
 * // Input order, though the actions finish out of order:
 * Effect.runPromise(program).then((results) => console.log(Array.from(results)))
 * // [ 2, 4, 6, 8, 10 ]
 * ```
 *
 * @since 0.1.0
 * @category operators
 */
export const mapEffect: {
  <A, B, E1, R1, Timeout extends runtime.DurationInput | undefined = undefined>(
    f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
    options: Options<A, Timeout>
  ): <E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<B, E | E1 | TimeoutError<Timeout>, R | R1>
  <A, E, R, B, E1, R1, Timeout extends runtime.DurationInput | undefined = undefined>(
    self: Stream.Stream<A, E, R>,
    f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
    options: Options<A, Timeout>
  ): Stream.Stream<B, E | E1 | TimeoutError<Timeout>, R | R1>
} = internal.mapEffect

/**
 * Runs `f` over any `Iterable` (read lazily, at most `window` ahead), up to
 * `concurrency` at once, and succeeds with the results in order (completion
 * order for `order: "none"`), or with `void` for `discard: true`. Failure,
 * timeout and interruption behave as in {@link mapEffect}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Ordered } from "effect-ordered"
 *
 * const program = Ordered.forEach(
 *   ["place 17", "cancel 17", "place 18"],
 *   (action, index) => Effect.as(Effect.sleep(`${30 - index * 10} millis`), `${index}: ${action}`),
 *   { concurrency: 3 }
 * )
 * Effect.runPromise(program).then(console.log)
 * // [ '0: place 17', '1: cancel 17', '2: place 18' ]
 * ```
 *
 * @since 0.1.0
 * @category operators
 */
export const forEach: {
  <A, B, E, R, Timeout extends runtime.DurationInput | undefined = undefined, Discard extends boolean = false>(
    f: (a: A, index: number) => Effect.Effect<B, E, R>,
    options: ForEachOptions<A, Timeout, Discard>
  ): (self: Iterable<A>) => Effect.Effect<Discard extends true ? void : Array<B>, E | TimeoutError<Timeout>, R>
  <A, B, E, R, Timeout extends runtime.DurationInput | undefined = undefined, Discard extends boolean = false>(
    self: Iterable<A>,
    f: (a: A, index: number) => Effect.Effect<B, E, R>,
    options: ForEachOptions<A, Timeout, Discard>
  ): Effect.Effect<Discard extends true ? void : Array<B>, E | TimeoutError<Timeout>, R>
} = internal.forEach

/**
 * The numbers behind the options' defaults: `window: "auto"` starts at
 * `windowFactor × concurrency` and grows up to `maxWindow`, whose default is
 * `maxWindowFactor × concurrency`; with `concurrency: "auto"`, `concurrency`
 * there means `maxConcurrency`, whose default is `maxConcurrency`.
 *
 * @example
 * ```ts
 * import { Ordered } from "effect-ordered"
 *
 * // A stalled head holds at most this many actions with concurrency 100 and the defaults.
 * console.log(Ordered.defaults.maxWindowFactor * 100)
 * // 12800
 * ```
 *
 * @since 0.2.0
 * @category defaults
 */
export const defaults: {
  readonly windowFactor: number
  readonly maxWindowFactor: number
  readonly maxConcurrency: number
} = Object.freeze({
  windowFactor: options.DEFAULT_WINDOW_FACTOR,
  maxWindowFactor: options.DEFAULT_MAX_WINDOW_FACTOR,
  maxConcurrency: options.DEFAULT_MAX_CONCURRENCY
})
