import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { OfferError } from "../../Sequencer.ts"
import * as Sequencer from "../../internal/sequencer.ts"
import { DuplicateSequenceError, type Gap } from "../../internal/sequencerModels.ts"
import * as V from "../../internal/validate.ts"
import * as runtime from "../../internal/runtime.ts"
import type { DurableObjectStorage, KeySequencer, Options, Released } from "../KeySequencer.ts"

/**
 * The engine behind `KeySequencer`: a `Sequencer` for the one key a Durable
 * Object owns, started at the sequence its storage says is next, and one
 * consumer fiber that applies the released values one at a time and writes
 * the next sequence (with the object's `state`, in one `put`) before it
 * answers the caller.
 *
 * Why it holds on workerd: every fiber and promise lives inside the one
 * object, and workerd lets a request to an object await a promise another
 * request to the same object resolves. Values held ahead of a gap are not
 * persisted: their callers are waiting, and an object is not evicted while
 * it has requests in flight.
 *
 * @internal
 */

const DEFAULT_STORAGE_KEY = "effect-ordered/next"

interface Pending<A, B, E> {
  readonly value: A
  readonly reply: Deferred.Deferred<B, E>
}

const checkStorage = (value: unknown): DurableObjectStorage => {
  const storage = V.record("options.storage", value)
  V.fn("options.storage.get", storage.get)
  V.fn("options.storage.put", storage.put)
  return storage as unknown as DurableObjectStorage
}

/** @internal */
export const make = <A, B, E = never, R = never>(
  options: Options<A, B, E, R>
): Effect.Effect<KeySequencer<A, B, E>, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const o = V.record("options", options)
    const storage = checkStorage(o.storage)
    if (!V.isKey(o.key)) throw V.invalid("options.key", "a non-empty string or a number (not NaN)", o.key)
    const key = o.key
    const storageKey = o.storageKey === undefined ? DEFAULT_STORAGE_KEY : o.storageKey
    if (typeof storageKey !== "string" || storageKey === "") {
      throw V.invalid("options.storageKey", "a non-empty string", storageKey)
    }
    const apply = V.fn<Options<A, B, E, R>["apply"]>("options.apply", o.apply)
    const state = o.state === undefined ? undefined : V.fn<() => Record<string, unknown>>("options.state", o.state)

    const stored = yield* Effect.promise(() => storage.get<number>(storageKey))
    const start = stored ?? 0
    if (!V.isInteger(start) || start < 0) {
      throw V.invalid(`storage[${JSON.stringify(storageKey)}]`, "an integer ≥ 0", stored)
    }
    const sequencer = yield* Sequencer.make<Pending<A, B, E>>({
      capacity: options.capacity,
      gapTimeout: options.gapTimeout,
      maxGapWait: options.maxGapWait,
      start
    })
    const context = yield* Effect.context<R>()

    /** Applies one released value; whatever `apply` does, its sequence is spent and the caller answered. */
    const settle = (released: Released<A>, reply: Deferred.Deferred<B, E>) =>
      apply(released).pipe(
        Effect.provide(context),
        Effect.exit,
        Effect.tap(() => Effect.promise(() => storage.put({ ...state?.(), [storageKey]: released.sequence + 1 }))),
        Effect.flatMap((exit) => Deferred.done(reply, exit))
      )

    let gap: Gap | undefined
    yield* sequencer.stream.pipe(
      // The values of a chunk wait their turn here: until they are applied, the key is not caught up.
      runtime.tapArrays((events) => sequencer.holdGaps(events.length)),
      Stream.runForEach((event) => {
        if (event._tag === "Gap") {
          gap = event
          sequencer.holdGaps(-1)
          return Effect.void
        }
        // A `Gap` is always followed by the value just after it.
        const missing = gap === undefined ? undefined : { from: gap.from, to: gap.to }
        gap = undefined
        return Effect.ensuring(
          settle({ sequence: event.sequence, value: event.value.value, missing }, event.value.reply),
          Effect.sync(() => sequencer.holdGaps(-1))
        )
      }),
      // `onGap: "skip"`: the stream cannot fail.
      Effect.orDie,
      Effect.forkScoped
    )

    const submit = (sequence: number, value: A): Effect.Effect<B, E | OfferError> =>
      Effect.gen(function*() {
        if (V.isInteger(sequence) && sequence >= 0 && sequence < start) {
          // Spent before this object started (its storage says so).
          return yield* new DuplicateSequenceError({ key, sequence, next: yield* sequencer.next(key) })
        }
        const reply = yield* Deferred.make<B, E>()
        yield* sequencer.offer(key, sequence, { value, reply })
        return yield* Deferred.await(reply)
      })

    return { submit, next: sequencer.next(key) }
  })
