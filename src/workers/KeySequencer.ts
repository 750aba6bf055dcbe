/**
 * A Durable Object building block: one key's client-numbered actions
 * reassembled in sequence order inside the object that owns the key, and
 * handed to your `apply` one at a time.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Backlog, Key, OfferError } from "../Sequencer.ts"
import * as internal from "./internal/keySequencer.ts"
import type * as runtime from "../internal/runtime.ts"

/**
 * The part of a Durable Object's `ctx.storage` (`DurableObjectStorage` in
 * `@cloudflare/workers-types`) that a {@link KeySequencer} uses. `put` with
 * an object writes all its entries atomically.
 *
 * @since 0.1.0
 * @category models
 */
export interface DurableObjectStorage {
  get<T = unknown>(key: string): Promise<T | undefined>
  put(entries: Record<string, unknown>): Promise<void>
}

/**
 * One value released in sequence order, as `apply` receives it. `missing` is
 * set when the sequences just before it were given up on (they did not
 * arrive within `gapTimeout`): `from`…`to`, ending at `sequence - 1`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Released<A> {
  readonly sequence: number
  readonly value: A
  readonly missing: { readonly from: number; readonly to: number } | undefined
}

/**
 * Options of {@link make}. Invalid options make `make` die with
 * `Cause.IllegalArgumentException` naming the option and the bad value.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<A, B, E, R> {
  /** The object's storage (`ctx.storage`). */
  readonly storage: DurableObjectStorage
  /** The key the object owns (the name given to `idFromName`); errors name it. */
  readonly key: Key
  /** How far ahead of the next expected sequence a value may be (`Sequencer` `capacity`). */
  readonly capacity: number
  /**
   * How long a held value waits for the sequences before it, on Effect's
   * `Clock`, once the key has caught up (as `Sequencer`'s `gapTimeout`: a
   * value arriving after a later one restarts the wait, so a burst still
   * coming in is not mistaken for a loss); then they are given up on and the
   * value is released with `missing` set. Default: none (a missing sequence
   * holds the key).
   */
  readonly gapTimeout?: runtime.DurationInput | undefined
  /** The longest a held value waits, however busy the key (`Sequencer`'s `maxGapWait`). Default: `10 × gapTimeout`. */
  readonly maxGapWait?: runtime.DurationInput | undefined
  /**
   * A `Sequencer.Backlog` held by what feeds the object (`Sequencer`'s
   * `backlog`): while it is held, no gap is given up. Where the worker and
   * its objects share an isolate (the local `workerd`), a module-level one
   * lets the worker's requests in flight hold every object's gaps.
   */
  readonly backlog?: Backlog | undefined
  /**
   * Applies one value, in sequence order, one at a time. Its sequence is
   * spent whatever it does: a failure or defect is the caller's, and the key
   * goes on.
   */
  readonly apply: (released: Released<A>) => Effect.Effect<B, E, R>
  /**
   * The object's state, as storage entries written atomically with the next
   * sequence after each `apply` (one `put`). Called at the time of the write,
   * so each write carries the state as it is then, also when something else
   * changed it since `apply` returned. Default: only the next sequence is
   * written.
   */
  readonly state?: (() => Readonly<Record<string, unknown>>) | undefined
  /** The storage entry holding the next expected sequence. Default: `"effect-ordered/next"`. */
  readonly storageKey?: string | undefined
}

/**
 * One key's reassembly inside a Durable Object.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeySequencer<A, B, E> {
  /**
   * Offers the value numbered `sequence` and waits until it has been applied
   * (its result or `apply`'s error). Fails at once with
   * `DuplicateSequenceError` (already held, applied or given up on, also
   * before a restart), `SequenceOutOfWindowError` (`sequence ≥ next +
   * capacity`) or `SequencerClosedError` (the scope closed). A caller that is
   * interrupted leaves its value accepted. A `sequence` that is not an
   * integer ≥ 0 is a defect (`Cause.IllegalArgumentException`), as with
   * `Sequencer.offer`: validate it where it comes in.
   */
  readonly submit: (sequence: number, value: A) => Effect.Effect<B, E | OfferError>
  /** The next expected sequence. */
  readonly next: Effect.Effect<number>
}

/**
 * Creates the key's sequencer in the current scope: reads the next expected
 * sequence from `storage` and starts the fiber that applies released values.
 * Create it once per object (e.g. on its first request) and keep the scope
 * open for the object's life.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KeySequencer } from "effect-ordered/workers"
 *
 * // An in-memory stand-in for a Durable Object's `ctx.storage`.
 * const entries = new Map<string, unknown>()
 * const storage: KeySequencer.DurableObjectStorage = {
 *   get: async <T>(key: string) => entries.get(key) as T | undefined,
 *   put: async (values) => {
 *     for (const [key, value] of Object.entries(values)) entries.set(key, value)
 *   }
 * }
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const applied: Array<string> = []
 *   const sequencer = yield* KeySequencer.make({
 *     storage,
 *     key: "order-17",
 *     capacity: 16,
 *     apply: ({ sequence, value }: KeySequencer.Released<string>) =>
 *       Effect.sync(() => {
 *         applied.push(value)
 *         return `applied ${sequence}`
 *       }),
 *     state: () => ({ log: applied.join(",") })
 *   })
 *   // "cancel" (sequence 1) arrives before "place" (sequence 0)
 *   const results = yield* Effect.all([sequencer.submit(1, "cancel"), sequencer.submit(0, "place")], {
 *     concurrency: "unbounded"
 *   })
 *   return { results, applied, stored: Object.fromEntries(entries) }
 * }))
 * Effect.runPromise(program).then(console.log)
 * // {
 * //   results: [ 'applied 1', 'applied 0' ],
 * //   applied: [ 'place', 'cancel' ],
 * //   stored: { log: 'place,cancel', 'effect-ordered/next': 2 }
 * // }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, B, E = never, R = never>(
  options: Options<A, B, E, R>
): Effect.Effect<KeySequencer<A, B, E>, never, Scope.Scope | R> => internal.make(options)
