/**
 * `POST /keys/:key/actions/:sequence`: one action carrying the client's
 * sequence number for its key. Requests may arrive out of order or twice;
 * the `Sequencer` releases each key's actions in sequence order, exactly
 * once, and the request is answered once its action has been applied.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import { Ordered, Sequencer } from "../../src/index.ts"
import { applyActions } from "./actions.ts"
import { Action, OrderBook } from "./domain.ts"
import { decodeJson, fail, json, readBody } from "./http.ts"
import { Config, CostlyStep, InputBacklog, Stats } from "./services.ts"

/** The answer to one keyed request, completed by the consumer of the sequencer. */
export interface Reply {
  readonly status: 200 | 504
  readonly body: Record<string, unknown>
}

interface Pending {
  readonly action: Action
  readonly reply: Deferred.Deferred<Reply>
}

/** The sequences given up on just before a released action, if any. */
export interface Missing {
  readonly from: number
  readonly to: number
}

/**
 * Settles one released keyed action. An action released only because the
 * sequences before it were given up on (`missing`) is not applied: applying
 * it out of order could be wrong (a cancel before its place), so its request
 * gets 504. Otherwise it is applied to the book and answered 200.
 */
export const settleReleased = (
  key: Sequencer.Key,
  sequence: number,
  action: Action,
  missing: Missing | undefined,
  gapTimeout: Duration.Duration
): Effect.Effect<Reply, never, OrderBook> => {
  if (missing !== undefined) {
    const what = missing.from === missing.to ? `Sequence ${missing.from}` : `Sequences ${missing.from}–${missing.to}`
    return Effect.succeed({
      status: 504,
      body: {
        error: `${what} of key ${JSON.stringify(key)} did not arrive within ${
          Duration.format(gapTimeout)
        }: sequence ${sequence} was not applied`,
        key,
        sequence,
        missing
      }
    })
  }
  return Effect.map(applyActions([action]), ([outcome]) => ({
    status: 200,
    body: { key, sequence, type: action.type, ...outcome }
  }))
}

/**
 * The sequencer and its consumer: released actions go through the costly
 * step (keys concurrently, each key in sequence order), then are applied to
 * the book one at a time (`settleReleased`); later sequences of a key apply
 * as usual after a gap.
 */
export class KeyedActions extends Effect.Service<KeyedActions>()("effect-ordered/examples/edge/KeyedActions", {
  scoped: Effect.gen(function*() {
    const config = yield* Config
    const stats = yield* Stats
    const step = yield* CostlyStep
    const book = yield* OrderBook
    const backlog = yield* InputBacklog
    const gapTimeout = Duration.millis(config.gapTimeoutMs)
    const sequencer = yield* Sequencer.make<Pending>({
      capacity: config.sequencerCapacity,
      gapTimeout,
      backlog,
      maxGapWait: config.maxGapWaitMs === undefined ? undefined : Duration.millis(config.maxGapWaitMs)
    })
    /** Per key, the gap just given up on; the next released value of the key is the one after it. */
    const gaps = new Map<Sequencer.Key, Sequencer.Gap>()

    const settle = (event: Sequencer.Event<Pending>): Effect.Effect<void> => {
      if (event._tag === "Gap") return Effect.sync(() => gaps.set(event.key, event))
      const gap = gaps.get(event.key)
      gaps.delete(event.key)
      const missing = gap !== undefined && gap.to === event.sequence - 1 ? { from: gap.from, to: gap.to } : undefined
      return settleReleased(event.key, event.sequence, event.value.action, missing, gapTimeout).pipe(
        Effect.provideService(OrderBook, book),
        Effect.flatMap((reply) => Deferred.succeed(event.value.reply, reply))
      )
    }

    yield* sequencer.stream.pipe(
      Ordered.mapEffect(
        (event: Sequencer.Event<Pending>, index) =>
          event._tag === "Released"
            ? Effect.as(stats.track(step(event.value.action, index)), event)
            : Effect.succeed<Sequencer.Event<Pending>>(event),
        { concurrency: config.concurrency, order: "key", key: (event) => event.key }
      ),
      Stream.runForEach(settle),
      // No action timeout and `onGap: "skip"`: the stream cannot fail.
      Effect.orDie,
      Effect.forkScoped
    )

    /** Offers the action; once accepted, what waits until it has been applied (or given up on). */
    const submit = (
      key: string,
      sequence: number,
      action: Action
    ): Effect.Effect<Effect.Effect<Reply, Sequencer.OfferError>, Sequencer.OfferError> =>
      Effect.gen(function*() {
        const reply = yield* Deferred.make<Reply>()
        yield* sequencer.offer(key, sequence, { action, reply })
        return Deferred.await(reply)
      })

    /** Holds every gap clock while a request is read, up to its offer. */
    const hold = Sequencer.holdGaps(backlog)

    return { submit, hold } as const
  })
}) {}

/**
 * Reads, validates and offers one keyed action; the request holds every gap
 * clock (the input backlog) from its start until its offer was accepted or
 * refused, so that a missing action still being read is not given up on.
 */
const offerKeyedAction = (keyed: KeyedActions) =>
  Effect.gen(function*() {
    const config = yield* Config
    const params = yield* HttpRouter.params
    const key = params.key!
    const sequence = Number(params.sequence)
    if (!/^\d+$/.test(params.sequence!) || !Number.isSafeInteger(sequence)) {
      return yield* fail(400, `Expected path parameter sequence to be an integer ≥ 0, got ${JSON.stringify(params.sequence)}`, {
        parameter: "sequence"
      })
    }
    const body = yield* readBody(config.maxBodyBytes)
    if (body.trim() === "") {
      return yield* fail(400, "Empty body: expected one JSON action ({\"type\":…,\"payload\":…})")
    }
    // The key comes from the path: the body carries type, payload and latencyMs.
    const action = yield* decodeJson(Action, body, {}, (value) => Predicate.isRecord(value) ? { ...value, key } : value)
    // Accepted: what waits for the reply, outside the hold (a value waiting for its turn is no backlog).
    return yield* keyed.submit(key, sequence, action)
  }).pipe(keyed.hold)

export const postKeyedAction = Effect.gen(function*() {
  const keyed = yield* KeyedActions
  const reply = yield* offerKeyedAction(keyed).pipe(
    Effect.flatten,
    Effect.catchTags({
      DuplicateSequenceError: ({ _tag, key, message, next, sequence }) => fail(409, message, { _tag, key, sequence, next }),
      SequenceOutOfWindowError: ({ _tag, capacity, key, message, next, sequence }) =>
        fail(409, message, { _tag, key, sequence, next, capacity }),
      SequencerClosedError: (error) => fail(503, error.message, { _tag: error._tag }),
      SequencerKeyLimitError: (error) => fail(503, error.message, { _tag: error._tag })
    })
  )
  return json(reply.body, reply.status)
})
