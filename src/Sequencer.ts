/**
 * Reassemble client-numbered actions: each client numbers its actions per key
 * (1, 2, 3, …); requests arrive out of order, twice, or not at all; the
 * sequencer releases each key's values in sequence order, exactly once, and
 * gives up on a missing number after `gapTimeout`. TCP-style reassembly for
 * application actions.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { TaggedErrorConstructor } from "./errors.ts"
import * as internal from "./internal/sequencer.ts"

/**
 * What values are sequenced by: a non-empty string or a number (not `NaN`).
 * `1` and `"1"` are different keys.
 *
 * @since 0.1.0
 * @category models
 */
export type Key = string | number

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
   * How long a buffered value may wait for the missing sequences before it,
   * measured on Effect's `Clock` from the moment it was accepted. Then those
   * sequences are given up on (see `onGap`). Default: none (a missing
   * sequence holds its key until it arrives).
   */
  readonly gapTimeout?: Duration.DurationInput | undefined
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
  readonly idleKeyTimeout?: Duration.DurationInput | undefined
  /**
   * The most live keys at once; an offer for a new key beyond it fails with
   * {@link SequencerKeyLimitError}. With `capacity` it bounds memory: at most
   * `capacity × maxKeys` values are held. An integer ≥ 1 or `Infinity`.
   * Default: `Infinity`.
   */
  readonly maxKeys?: number | undefined
}

/**
 * A value released in its key's sequence order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Released<A> {
  readonly _tag: "Released"
  readonly key: Key
  readonly sequence: number
  readonly value: A
}

/**
 * The sequences `from` to `to` (inclusive) of `key` were given up on: none of
 * them arrived within `gapTimeout` of a later value. They are never released;
 * an offer for one of them later is rejected with {@link DuplicateSequenceError}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Gap {
  readonly _tag: "Gap"
  readonly key: Key
  readonly from: number
  readonly to: number
}

/**
 * What the stream emits: per key, `Released` values and `Gap`s in sequence
 * order, together covering every sequence from `start` on without overlap.
 *
 * @since 0.1.0
 * @category models
 */
export type Event<A> = Released<A> | Gap

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
 * import { Chunk, Effect, Stream } from "effect"
 * import { Sequencer } from "effect-ordered"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sequencer = yield* Sequencer.make<string>({ capacity: 16 })
 *   // "cancel" (sequence 1) overtakes "place" (sequence 0); "place" is sent twice.
 *   yield* sequencer.offer("order-17", 1, "cancel")
 *   yield* sequencer.offer("order-17", 0, "place")
 *   const retry = yield* Effect.flip(sequencer.offer("order-17", 0, "place"))
 *   const events = yield* Stream.runCollect(Stream.take(sequencer.stream, 2))
 *   return { events: Chunk.toReadonlyArray(events).map((e) => e._tag === "Released" ? e.value : "gap"), retry: retry._tag }
 * }))
 * Effect.runPromise(program).then(console.log)
 * // { events: [ 'place', 'cancel' ], retry: 'DuplicateSequenceError' }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A>(options: Options): Effect.Effect<Sequencer<A>, never, Scope.Scope> =>
  // Not `= internal.make`: the engine imports this module's errors, and a
  // function body reads `internal` only once both modules are evaluated.
  internal.make<A>(options)

/**
 * Whether an event is a released value (else it is a {@link Gap}).
 *
 * @example
 * ```ts
 * import { Chunk, Effect, Stream } from "effect"
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
 * Effect.runPromise(program).then((events) => console.log(Chunk.toArray(events)))
 * // [ 'gap 0-0', 'second' ]
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isReleased: <A>(event: Event<A>) => event is Released<A> = (event) => event._tag === "Released"

/**
 * Whether an event is a {@link Gap}.
 *
 * @example
 * ```ts
 * import { Sequencer } from "effect-ordered"
 *
 * const event: Sequencer.Event<string> = { _tag: "Gap", key: "k", from: 0, to: 2 }
 * if (Sequencer.isGap(event)) console.log(`key ${event.key} lost ${event.to - event.from + 1} actions`)
 * // key k lost 3 actions
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isGap: <A>(event: Event<A>) => event is Gap = (event) => event._tag === "Gap"

const describeKey = (key: Key): string => typeof key === "string" ? JSON.stringify(key) : String(key)

const DuplicateSequenceErrorBase: TaggedErrorConstructor<"DuplicateSequenceError", {
  readonly key: Key
  readonly sequence: number
  /** The key's next expected sequence when the offer was refused. */
  readonly next: number
}> = Data.TaggedError("DuplicateSequenceError")

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
export class DuplicateSequenceError extends DuplicateSequenceErrorBase {
  override get message(): string {
    const key = describeKey(this.key)
    return this.sequence >= this.next
      ? `Sequence ${this.sequence} of key ${key} is already buffered`
      : `Sequence ${this.sequence} of key ${key} was already released or given up on (next expected: ${this.next})`
  }
}

const SequenceOutOfWindowErrorBase: TaggedErrorConstructor<"SequenceOutOfWindowError", {
  readonly key: Key
  readonly sequence: number
  /** The key's next expected sequence when the offer was refused. */
  readonly next: number
  /** `options.capacity`: accepted sequences are below `next + capacity`. */
  readonly capacity: number
}> = Data.TaggedError("SequenceOutOfWindowError")

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
export class SequenceOutOfWindowError extends SequenceOutOfWindowErrorBase {
  override get message(): string {
    return `Sequence ${this.sequence} of key ${describeKey(this.key)} is beyond the window: next expected is ${this.next}, capacity ${this.capacity} admits up to ${
      this.next + this.capacity - 1
    }`
  }
}

const SequencerClosedErrorBase: TaggedErrorConstructor<"SequencerClosedError", {
  readonly key: Key
  readonly sequence: number
}> = Data.TaggedError("SequencerClosedError")

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
export class SequencerClosedError extends SequencerClosedErrorBase {
  override get message(): string {
    return `Sequencer is closed: sequence ${this.sequence} of key ${describeKey(this.key)} was not released`
  }
}

const SequenceGapErrorBase: TaggedErrorConstructor<"SequenceGapError", {
  readonly key: Key
  /** First missing sequence. */
  readonly from: number
  /** Last missing sequence (inclusive). */
  readonly to: number
  /** `options.gapTimeout`, which a later value waited for. */
  readonly gapTimeout: Duration.Duration
}> = Data.TaggedError("SequenceGapError")

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
export class SequenceGapError extends SequenceGapErrorBase {
  override get message(): string {
    const missing = this.from === this.to ? `sequence ${this.from}` : `sequences ${this.from} to ${this.to}`
    return `Key ${describeKey(this.key)} gave up on ${missing}: missing for ${Duration.format(this.gapTimeout)}`
  }
}

const SequencerKeyLimitErrorBase: TaggedErrorConstructor<"SequencerKeyLimitError", {
  readonly key: Key
  readonly sequence: number
  /** `options.maxKeys`. */
  readonly maxKeys: number
}> = Data.TaggedError("SequencerKeyLimitError")

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
export class SequencerKeyLimitError extends SequencerKeyLimitErrorBase {
  override get message(): string {
    return `Cannot start key ${describeKey(this.key)} (sequence ${this.sequence}): ${this.maxKeys} keys are live (maxKeys)`
  }
}
