/**
 * Reassemble client-numbered actions: each client numbers its actions per key
 * (1, 2, 3, …); requests arrive out of order, twice, or not at all; the
 * sequencer releases each key's values in sequence order, exactly once, and
 * gives up on a missing number after `gapTimeout`. TCP-style reassembly for
 * application actions.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type {
  DuplicateSequenceError,
  SequenceGapError,
  SequenceOutOfWindowError,
  SequencerClosedError,
  SequencerKeyLimitError
} from "./internal/sequencerModels.ts"
import * as internal from "./internal/sequencer.ts"
import * as backlogInternal from "./internal/sequencerBacklog.ts"
import type * as models from "./internal/sequencerModels.ts"
import { Event as EventValue } from "./internal/sequencerModels.ts"
import type * as runtime from "./internal/runtime.ts"

/**
 * What values are sequenced by: a non-empty string or a number (not `NaN`).
 * `1` and `"1"` are different keys.
 *
 * @since 0.1.0
 * @category models
 */
export type Key = models.Key

/**
 * Options of {@link make}. Invalid options make `make` die with
 * `Cause.IllegalArgumentException` naming the option and the bad value, e.g.
 * `` Expected `options.capacity` to be an integer ≥ 1, got `0` (number) ``.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Per key, the most values held at once: buffered ahead of the next expected
   * sequence, or released and not yet taken by the stream's consumer. A
   * sequence at or beyond `next + capacity` is rejected with
   * {@link SequenceOutOfWindowError}; an offer to a key holding `capacity`
   * values suspends until the consumer takes one. An integer from 1 to 2^31
   * (a key buffers in one array, which JavaScript caps at 2^32 - 1 slots).
   */
  readonly capacity: number
  /** The first sequence of every key. A safe integer ≥ 0. Default: `0`. */
  readonly start?: number | undefined
  /**
   * How long a buffered value waits for the missing sequences before it once
   * the sequencer has caught up, on Effect's `Clock`; then those sequences
   * are given up on (see `onGap`). Caught up: time spent working through a
   * backlog does not count. The wait is measured from the later of the
   * value's acceptance and the last sign of a backlog: an offer that arrived
   * after a later sequence of its key (it fills a hole, so more may still be
   * on the way), or an offer suspended on a full key (the clock is held
   * while one is), the `backlog` option released, or a stall (the deadline
   * found more than `gapTimeout / 4` overdue: the process could not look at
   * it, nor read what arrived meanwhile). See `maxGapWait` for the bound.
   * Default: none (a missing sequence holds its key until it arrives).
   */
  readonly gapTimeout?: runtime.DurationInput | undefined
  /**
   * The longest a buffered value waits for the sequences before it, from its
   * acceptance, however busy the sequencer is: a gap is given up after
   * `gapTimeout` once the backlog is drained, and never later than this.
   * At least `gapTimeout`; needs it. Default: `10 × gapTimeout`.
   */
  readonly maxGapWait?: runtime.DurationInput | undefined
  /**
   * A {@link Backlog} that the code in front of the sequencer holds while
   * it still has input it has not offered yet (an HTTP server: connections
   * accepted and not read, requests shed with `Retry-After`). While it is
   * held no gap is given up, and its release counts as a sign of a backlog.
   * One backlog may serve several sequencers; it must use the same `Clock`.
   * Needs `gapTimeout` to matter. Default: none.
   */
  readonly backlog?: Backlog | undefined
  /**
   * What giving up on missing sequences does. `"skip"` (default): emit a
   * {@link Gap} for them and release the values after them. `"fail"`: the
   * stream fails with {@link SequenceGapError} (after the events already
   * released) and the sequencer stops accepting offers. Needs `gapTimeout`.
   */
  readonly onGap?: "skip" | "fail" | undefined
  /**
   * Forget a key that has held nothing (nothing buffered, nothing unread,
   * no suspended offer) for this long, measured on Effect's `Clock`. Its next
   * offer then starts it afresh at `start`: a late retry of a forgotten key's
   * sequence `s` is no longer recognised as a duplicate. It is released again
   * if `s = start`; buffered (and, after `gapTimeout`, released after a `Gap`
   * from `start` to `s - 1`) if `start < s < start + capacity`; rejected as out
   * of window otherwise. Choose it longer than clients keep retrying.
   * Default: none (keys are remembered for the sequencer's lifetime).
   */
  readonly idleKeyTimeout?: runtime.DurationInput | undefined
  /**
   * The most live keys at once; an offer for a new key beyond it fails with
   * {@link SequencerKeyLimitError}. With `capacity` it bounds memory: at most
   * `capacity × maxKeys` values are held. An integer ≥ 1 or `Infinity`.
   * Default: `Infinity`.
   */
  readonly maxKeys?: number | undefined
  /**
   * Names the sequencer for observability. When set, it records Effect
   * metrics tagged `pipeline=<name>`: `effect_ordered_sequencer_buffered`
   * (gauge: values held waiting for an earlier sequence),
   * `effect_ordered_sequencer_gaps` and `effect_ordered_sequencer_duplicates`
   * (counters). Without it nothing is recorded. A non-empty string.
   */
  readonly name?: string | undefined
}

/**
 * What the stream emits: per key, `Released` values and `Gap`s in sequence
 * order, together covering every sequence from `start` on without overlap.
 *
 * - `Released`: a value released in its key's sequence order.
 * - `Gap`: the sequences `from` to `to` (inclusive) of `key` were given up
 *   on: none of them arrived within `gapTimeout` of a later value once the
 *   sequencer had caught up (see `Options.gapTimeout`). They are
 *   never released; an offer for one of them later is rejected with
 *   {@link DuplicateSequenceError}.
 *
 * A `Data.TaggedEnum`: {@link Event} holds its constructors, `$is` and `$match`.
 *
 * @since 0.1.0
 * @category models
 */
export type Event<A> = models.Event<A>

/**
 * A value released in its key's sequence order.
 *
 * @since 0.1.0
 * @category models
 */
export type Released<A> = models.Released<A>

/**
 * Sequences of a key given up on (see {@link Event}).
 *
 * @since 0.1.0
 * @category models
 */
export type Gap = models.Gap

/**
 * The type-level definition of {@link Event} for `Data.taggedEnum`.
 *
 * @since 0.2.0
 * @category models
 */
export type EventDefinition = models.EventDefinition

/**
 * Constructors and matchers of {@link Event}.
 *
 * @example
 * ```ts
 * import { Sequencer } from "effect-ordered"
 *
 * const events: ReadonlyArray<Sequencer.Event<string>> = [
 *   Sequencer.Event.Released({ key: "k", sequence: 0, value: "place" }),
 *   Sequencer.Event.Gap({ key: "k", from: 1, to: 2 })
 * ]
 * const describe = Sequencer.Event.$match({
 *   Released: (e) => `${e.sequence}: ${e.value}`,
 *   Gap: (e) => `lost ${e.from}-${e.to}`
 * })
 * console.log(events.map(describe))
 * // [ '0: place', 'lost 1-2' ]
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const Event: typeof models.Event = EventValue

/**
 * Counts at one moment, e.g. for metrics.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Keys remembered now (at most `maxKeys`). */
  readonly keys: number
  /** Values buffered ahead of their key's next expected sequence. */
  readonly buffered: number
  /** Events released and not yet taken by the stream's consumer. */
  readonly unread: number
}

/**
 * The ways an offer can be refused.
 *
 * @since 0.1.0
 * @category errors
 */
export type OfferError =
  | DuplicateSequenceError
  | SequenceOutOfWindowError
  | SequencerClosedError
  | SequencerKeyLimitError

/**
 * A running sequencer; see {@link make}.
 *
 * Released means taken by the consumer of `stream`: the consumer pulled a
 * chunk holding the event. When `stream` feeds `Ordered.mapEffect`, that is
 * when the event enters its window, before the action runs; to answer after
 * the action, carry a `Deferred` in the value and complete it in the action.
 *
 * Bad input (`key` empty or `NaN`, `sequence` not a safe integer ≥ `start`)
 * is a defect, `Cause.IllegalArgumentException` naming the argument and
 * value: validate client input before offering it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sequencer<A> {
  /**
   * Succeeds once `value` is accepted: released (its sequence was the key's
   * next) or buffered until the sequences before it arrive or are given up on.
   * Suspends while its key holds `capacity` values, until the consumer takes
   * one (offers to a key are placed in arrival order). A refused offer
   * changes nothing, so a client may retry it.
   */
  readonly offer: (key: Key, sequence: number, value: A) => Effect.Effect<void, OfferError>
  /**
   * Like `offer`, then waits until the consumer of `stream` has taken
   * `value`. Fails with {@link SequenceGapError} if its key failed with
   * `onGap: "fail"` before it was released, with {@link SequencerClosedError}
   * if the sequencer closed first. Interrupting it after acceptance does not
   * withdraw the value.
   */
  readonly offerAwait: (key: Key, sequence: number, value: A) => Effect.Effect<void, OfferError | SequenceGapError>
  /** The key's next expected sequence: `start` for a key not remembered. */
  readonly next: (key: Key) => Effect.Effect<number>
  /** How much the sequencer holds now. */
  readonly stats: Effect.Effect<Stats>
  /**
   * The released events, each key in sequence order, keys independent (a gap
   * in one never delays another). Ends when the sequencer's scope closes
   * (events not taken by then are dropped and their `offerAwait` callers fail
   * with {@link SequencerClosedError}); fails with {@link SequenceGapError}
   * under `onGap: "fail"`. Meant for one consumer: concurrent runs share the
   * events between them. Each pull takes every unread event as one chunk;
   * a consumer that stops inside a chunk (`Stream.take`) has taken, and
   * drops, the rest of it.
   */
  readonly stream: Stream.Stream<Event<A>, SequenceGapError>
}

/**
 * Creates a sequencer in the current scope: closing the scope ends its
 * stream, fails pending `offerAwait` callers and later offers with
 * {@link SequencerClosedError}. Time (gap and idle timeouts) is read from the
 * `Clock` of the fiber that calls `make`.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Sequencer } from "effect-ordered"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sequencer = yield* Sequencer.make<string>({ capacity: 16 })
 *   // "cancel" (sequence 1) overtakes "place" (sequence 0); "place" is sent twice.
 *   yield* sequencer.offer("order-17", 1, "cancel")
 *   yield* sequencer.offer("order-17", 0, "place")
 *   const retry = yield* Effect.flip(sequencer.offer("order-17", 0, "place"))
 *   const events = yield* Stream.runCollect(Stream.take(sequencer.stream, 2))
 *   return { events: Array.from(events).map((e) => e._tag === "Released" ? e.value : "gap"), retry: retry._tag }
 * }))
 * Effect.runPromise(program).then(console.log)
 * // { events: [ 'place', 'cancel' ], retry: 'DuplicateSequenceError' }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A>(options: Options): Effect.Effect<Sequencer<A>, never, Scope.Scope> =>
  internal.make<A>(options)

/**
 * What feeds one or more sequencers says, through this, that it is behind:
 * it holds input it has not offered yet. Give it to {@link make} as
 * `backlog`; hold it with {@link holdGaps}, {@link holdGapsFor} or
 * {@link unsafeHoldGaps}. While it is held, no gap is given up; the moment
 * the last hold ends starts the gap clocks afresh (`gapTimeout` from then).
 *
 * @since 0.2.0
 * @category models
 */
export interface Backlog extends backlogInternal.Backlog {}

/**
 * A new {@link Backlog}, on the `Clock` of the fiber that makes it (the
 * sequencers it is given to must use the same).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sequencer } from "effect-ordered"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const backlog = yield* Sequencer.makeBacklog
 *   const sequencer = yield* Sequencer.make<string>({ capacity: 8, gapTimeout: "50 millis", backlog })
 *   yield* sequencer.offer("k", 1, "second")
 *   // Sequence 0 takes 200 ms to read (4 × gapTimeout): the read holds the backlog.
 *   yield* Effect.sleep("200 millis").pipe(
 *     Effect.andThen(sequencer.offer("k", 0, "first")),
 *     Sequencer.holdGaps(backlog)
 *   )
 *   return yield* sequencer.next("k")
 * }))
 * Effect.runPromise(program).then(console.log)
 * // 2
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeBacklog: Effect.Effect<Backlog> = backlogInternal.make

/**
 * Holds `backlog` while `self` runs (e.g. while a request is read and
 * parsed, up to its offer): no gap of the sequencers given it is given up
 * meanwhile, and their gap clocks start afresh when the last hold ends.
 *
 * @since 0.2.0
 * @category combinators
 */
export const holdGaps: {
  (backlog: Backlog): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, backlog: Backlog): Effect.Effect<A, E, R>
} = dual(2, backlogInternal.hold)

/**
 * Holds `backlog` from now for `duration`: input refused now and coming
 * back later (a request answered `503` with `Retry-After`) is not mistaken
 * for missing while it is on its way.
 *
 * @since 0.2.0
 * @category combinators
 */
export const holdGapsFor: {
  (duration: runtime.DurationInput): (backlog: Backlog) => Effect.Effect<void>
  (backlog: Backlog, duration: runtime.DurationInput): Effect.Effect<void>
} = dual(2, backlogInternal.holdFor)

/**
 * Holds `backlog` until the returned function is called (once; later calls
 * do nothing): for callbacks outside Effect, such as a server's
 * `connection` event, released when the connection's request is read.
 *
 * @since 0.2.0
 * @category unsafe
 */
export const unsafeHoldGaps: (backlog: Backlog) => () => void = backlogInternal.unsafeHold

/**
 * Whether an event is a released value (else it is a {@link Gap}): `Event.$is("Released")`.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Sequencer } from "effect-ordered"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sequencer = yield* Sequencer.make<string>({ capacity: 8, gapTimeout: "10 millis" })
 *   yield* sequencer.offer("k", 1, "second") // sequence 0 never comes
 *   return yield* sequencer.stream.pipe(
 *     Stream.take(2),
 *     Stream.map((event) => Sequencer.isReleased(event) ? event.value : `gap ${event.from}-${event.to}`),
 *     Stream.runCollect
 *   )
 * }))
 * // After 10 ms:
 * Effect.runPromise(program).then((events) => console.log(Array.from(events)))
 * // [ 'gap 0-0', 'second' ]
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isReleased: <A>(event: Event<A>) => event is Released<A> = Event.$is("Released")

/**
 * Whether an event is a {@link Gap}: `Event.$is("Gap")`.
 *
 * @example
 * ```ts
 * import { Sequencer } from "effect-ordered"
 *
 * const event: Sequencer.Event<string> = Sequencer.Event.Gap({ key: "k", from: 0, to: 2 })
 * if (Sequencer.isGap(event)) console.log(`key ${event.key} lost ${event.to - event.from + 1} actions`)
 * // key k lost 3 actions
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isGap: <A>(event: Event<A>) => event is Gap = Event.$is("Gap")

/**
 * `sequencer.offer(key, sequence, value)` as a module function, data-first
 * or data-last (as `Queue.offer(queue, a)`).
 *
 * @example
 * ```ts
 * import { Effect, pipe, Stream } from "effect"
 * import { Sequencer } from "effect-ordered"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sequencer = yield* Sequencer.make<string>({ capacity: 8 })
 *   yield* Sequencer.offer(sequencer, "k", 1, "second")
 *   yield* pipe(sequencer, Sequencer.offer("k", 0, "first"))
 *   const next = yield* Sequencer.next(sequencer, "k")
 *   const events = yield* Stream.runCollect(Stream.take(Sequencer.stream(sequencer), 2))
 *   return { next, values: [...events].map((e) => Sequencer.isReleased(e) ? e.value : "gap") }
 * }))
 * Effect.runPromise(program).then(console.log)
 * // { next: 2, values: [ 'first', 'second' ] }
 * ```
 *
 * @since 0.2.0
 * @category module functions
 */
export const offer: {
  <A>(key: Key, sequence: number, value: A): (self: Sequencer<A>) => Effect.Effect<void, OfferError>
  <A>(self: Sequencer<A>, key: Key, sequence: number, value: A): Effect.Effect<void, OfferError>
} = dual(4, <A>(self: Sequencer<A>, key: Key, sequence: number, value: A) => self.offer(key, sequence, value))

/**
 * `sequencer.offerAwait(key, sequence, value)` as a module function,
 * data-first or data-last.
 *
 * @since 0.2.0
 * @category module functions
 */
export const offerAwait: {
  <A>(key: Key, sequence: number, value: A): (self: Sequencer<A>) => Effect.Effect<void, OfferError | SequenceGapError>
  <A>(self: Sequencer<A>, key: Key, sequence: number, value: A): Effect.Effect<void, OfferError | SequenceGapError>
} = dual(4, <A>(self: Sequencer<A>, key: Key, sequence: number, value: A) => self.offerAwait(key, sequence, value))

/**
 * `sequencer.next(key)` as a module function, data-first or data-last.
 *
 * @since 0.2.0
 * @category module functions
 */
export const next: {
  (key: Key): <A>(self: Sequencer<A>) => Effect.Effect<number>
  <A>(self: Sequencer<A>, key: Key): Effect.Effect<number>
} = dual(2, <A>(self: Sequencer<A>, key: Key) => self.next(key))

/**
 * `sequencer.stats` as a module function.
 *
 * @since 0.2.0
 * @category module functions
 */
export const stats = <A>(self: Sequencer<A>): Effect.Effect<Stats> => self.stats

/**
 * `sequencer.stream` as a module function.
 *
 * @since 0.2.0
 * @category module functions
 */
export const stream = <A>(self: Sequencer<A>): Stream.Stream<Event<A>, SequenceGapError> => self.stream

export {
  /**
   * The offered sequence is already buffered (`sequence ≥ next`), or is behind
   * the key's next expected one (`sequence < next`): already released, or
   * given up on in a {@link Gap}. Nothing changed: answer the retry as a
   * duplicate.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Sequencer } from "effect-ordered"
   *
   * // What an HTTP handler answers for each refusal.
   * const handle = (sequencer: Sequencer.Sequencer<string>, key: string, sequence: number, action: string) =>
   *   sequencer.offer(key, sequence, action).pipe(
   *     Effect.as({ status: 202, body: "accepted" }),
   *     Effect.catchTags({
   *       DuplicateSequenceError: (e) => Effect.succeed({ status: 200, body: e.message }),
   *       SequenceOutOfWindowError: (e) => Effect.succeed({ status: 429, body: e.message }),
   *       SequencerKeyLimitError: (e) => Effect.succeed({ status: 503, body: e.message }),
   *       SequencerClosedError: (e) => Effect.succeed({ status: 503, body: e.message })
   *     })
   *   )
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const sequencer = yield* Sequencer.make<string>({ capacity: 8 })
   *   const first = yield* handle(sequencer, "order-17", 0, "place")
   *   const retry = yield* handle(sequencer, "order-17", 0, "place")
   *   return [first.status, retry.status]
   * }))
   * Effect.runPromise(program).then(console.log)
   * // [ 202, 200 ]
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  DuplicateSequenceError,
  /**
   * The offered sequence is at or beyond `next + capacity`: too far ahead of
   * the key's next expected sequence to be buffered. Nothing changed: the
   * client may retry once earlier sequences went through.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Sequencer } from "effect-ordered"
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const sequencer = yield* Sequencer.make<string>({ capacity: 4 })
   *   return yield* Effect.flip(sequencer.offer("k", 9, "too far ahead"))
   * }))
   * Effect.runPromise(program).then((error) => console.log(error.message))
   * // Sequence 9 of key "k" is beyond the window: next expected is 0, capacity 4 admits up to 3
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  SequenceOutOfWindowError,
  /**
   * The sequencer no longer accepts or releases values: its scope closed, or a
   * gap failed it (`onGap: "fail"`). `key` and `sequence` are the refused or
   * dropped offer's.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Sequencer } from "effect-ordered"
   *
   * const program = Effect.gen(function*() {
   *   const sequencer = yield* Effect.scoped(Sequencer.make<string>({ capacity: 4 })) // its scope is closed
   *   return yield* Effect.flip(sequencer.offer("k", 0, "late"))
   * })
   * Effect.runPromise(program).then((error) => console.log(error.message))
   * // Sequencer is closed: sequence 0 of key "k" was not released
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  SequencerClosedError,
  /**
   * `onGap: "fail"`: sequences `from` to `to` of `key` did not arrive within
   * `gapTimeout` of a later value. The stream fails with it; pending
   * `offerAwait` callers of that key whose value was accepted fail with it too.
   *
   * @example
   * ```ts
   * import { Effect, Stream } from "effect"
   * import { Sequencer } from "effect-ordered"
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const sequencer = yield* Sequencer.make<string>({ capacity: 4, gapTimeout: "10 millis", onGap: "fail" })
   *   yield* sequencer.offer("k", 1, "second") // sequence 0 never comes
   *   return yield* Effect.flip(Stream.runDrain(sequencer.stream))
   * }))
   * Effect.runPromise(program).then((error) => console.log(error.message))
   * // Key "k" gave up on sequence 0: missing for 10ms
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  SequenceGapError,
  /**
   * An offer for a new key while `maxKeys` keys are live. Nothing changed: the
   * client may retry once keys expire (`idleKeyTimeout`).
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Sequencer } from "effect-ordered"
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const sequencer = yield* Sequencer.make<string>({ capacity: 4, maxKeys: 1 })
   *   yield* sequencer.offer("a", 0, "first key")
   *   return yield* Effect.flip(sequencer.offer("b", 0, "second key"))
   * }))
   * Effect.runPromise(program).then((error) => console.log(error.message))
   * // Cannot start key "b" (sequence 0): 1 keys are live (maxKeys)
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  SequencerKeyLimitError
} from "./internal/sequencerModels.ts"
