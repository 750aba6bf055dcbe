import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Ordered from "../../Ordered.ts"
import type { ConsumeOptions, Entry } from "../index.ts"
import type { RedisError } from "../errors.ts"
import {
  ACK,
  ACTION_FIELD,
  CLAIM,
  command,
  deadLetterKey,
  HEARTBEAT,
  KEY_FIELD,
  leaseKey,
  membersKey,
  partitionOf,
  READ,
  RELEASE,
  RENEW,
  runScript,
  streamKey
} from "./redis.ts"
import * as V from "./validate.ts"

/**
 * The consumer: a supervisor loop keeps this consumer's fair share of
 * partition leases; each owned partition runs a worker that reads (pending
 * entries first), processes with `Ordered.mapEffect` in key order, commits
 * per key in order and acknowledges what was committed. Every read and
 * acknowledgement is fenced by the lease token inside Redis; a lease keeper
 * renews the lease and interrupts the worker once it can no longer be sure
 * the lease is its own.
 *
 * @internal
 */

/** The options with every default filled in: the required ones as given, the rest resolved. */
interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<
    ConsumeOptions<A, B, E1, R1, E2, R2>,
    "redis" | "prefix" | "partitions" | "group" | "consumer" | "process" | "commit" | "concurrency"
  >
{
  readonly window: number
  readonly batchSize: number
  readonly leaseTtl: number
  readonly pollInterval: Duration.Duration
  readonly retry: Schedule.Schedule<unknown, E1, never>
  readonly poison: "dead-letter" | "halt-key"
  readonly deadLetter: string
}

const DEFAULT_RETRY: Schedule.Schedule<unknown, unknown> = Schedule.intersect(
  Schedule.exponential("100 millis"),
  Schedule.recurs(4)
)

const resolve = <A, B, E1, R1, E2, R2>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2>
): Resolved<A, B, E1, R1, E2, R2> => {
  V.record("options", options)
  const concurrency = V.integerAtLeast("options.concurrency", options.concurrency, 1)
  const window = options.window === undefined
    ? 3 * concurrency
    : V.integerAtLeast("options.window", options.window, concurrency, `an integer ≥ concurrency (${concurrency})`)
  const prefix = V.nonEmptyString("options.prefix", options.prefix)
  const group = V.nonEmptyString("options.group", options.group)
  if (options.retry !== undefined && !Schedule.isSchedule(options.retry)) {
    throw V.invalid("options.retry", "a Schedule", options.retry)
  }
  return {
    redis: V.client("options.redis", options.redis),
    prefix,
    partitions: V.integerAtLeast("options.partitions", options.partitions, 1),
    group,
    consumer: V.nonEmptyString("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: V.fn("options.commit", options.commit),
    concurrency,
    window,
    batchSize: V.optionalIntegerAtLeast("options.batchSize", options.batchSize, 1) ?? window,
    leaseTtl: Duration.toMillis(V.optionalPositiveDuration("options.leaseTtl", options.leaseTtl) ?? Duration.seconds(10)),
    pollInterval: V.optionalPositiveDuration("options.pollInterval", options.pollInterval) ?? Duration.millis(100),
    retry: options.retry ?? DEFAULT_RETRY,
    poison: options.poison === undefined ? "dead-letter" : V.oneOf("options.poison", options.poison, ["dead-letter", "halt-key"]),
    deadLetter: options.deadLetter === undefined
      ? deadLetterKey(prefix, group)
      : V.nonEmptyString("options.deadLetter", options.deadLetter)
  }
}

/** The lease of a partition is no longer (certainly) ours: its work stops. */
class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly partition: number; readonly reason: string }> {}

/** The group's read position moved behind the worker's back: it starts over from the pending entries. */
class ReadsOutOfStep extends Data.TaggedError("ReadsOutOfStep")<{ readonly partition: number; readonly expected: string }> {}

/** A stream entry as read, before decoding. */
interface Raw {
  readonly entry: Entry
  readonly payload: string | undefined
  /** The key, or for an entry without one a key of its own (it is dead-lettered, nothing waits for it). */
  readonly orderKey: string
}

type Outcome<B> =
  | { readonly _tag: "Processed"; readonly raw: Raw; readonly action: unknown; readonly result: B }
  | { readonly _tag: "Poison"; readonly raw: Raw; readonly error: unknown; readonly attempts: number }
  | { readonly _tag: "Halted"; readonly raw: Raw }

const errorText = (error: unknown): string => {
  if (error instanceof Error) return error.message
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/** Parses `[id, [field, value, …]]` replies; skips entries deleted from the stream (nil). */
const parseEntries = (partition: number, reply: unknown): Array<Raw> => {
  const out: Array<Raw> = []
  for (const item of (reply ?? []) as Array<[string, Array<string>] | null>) {
    if (item === null || item[1] === null) continue
    const [id, fields] = item
    let key: string | undefined
    let payload: string | undefined
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === KEY_FIELD) key = fields[i + 1]
      else if (fields[i] === ACTION_FIELD) payload = fields[i + 1]
    }
    out.push({ entry: { partition, id, key: key ?? "" }, payload, orderKey: key ? key : `\u0000${id}` })
  }
  return out
}

/** @internal */
export const consume = <A, B, E1, R1, E2, R2>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2>
): Effect.Effect<never, never, R1 | R2> =>
  Effect.suspend(() => {
    const o = resolve(options)
    const { redis } = o
    const renewEvery = Math.max(1, Math.floor(o.leaseTtl / 3))
    // Work stops this long before the lease would expire in Redis.
    const margin = Math.max(1, Math.floor(o.leaseTtl / 10))
    const members = membersKey(o.prefix, o.group)

    const ensureGroup = (stream: string) =>
      command("XGROUP CREATE", () => redis.xgroup("CREATE", stream, o.group, "0", "MKSTREAM")).pipe(
        Effect.catchIf((e) => errorText(e.cause).startsWith("BUSYGROUP"), () => Effect.void)
      )

    /** Renews the lease until it is lost; never succeeds. */
    const keepLease = (partition: number, token: string, acquiredAt: number): Effect.Effect<never, LeaseLost> => {
      const lease = leaseKey(o.prefix, o.group, partition)
      let deadline = acquiredAt + o.leaseTtl
      const renew = Effect.gen(function*() {
        yield* Effect.sleep(renewEvery)
        const sent = yield* Clock.currentTimeMillis
        const left = deadline - margin - sent
        if (left <= 0) return yield* new LeaseLost({ partition, reason: "not renewed in time" })
        const renewed = yield* runScript(redis, RENEW, [lease], [token, o.leaseTtl]).pipe(
          Effect.timeout(left),
          Effect.option
        )
        if (Option.isSome(renewed)) {
          if (renewed.value !== 1) return yield* new LeaseLost({ partition, reason: "taken by another consumer" })
          deadline = sent + o.leaseTtl
        } else if ((yield* Clock.currentTimeMillis) >= deadline - margin) {
          return yield* new LeaseLost({ partition, reason: "not renewed in time" })
        }
      })
      return Effect.forever(renew)
    }

    /**
     * Processes the partition until the lease is lost or something fails, or,
     * once `stop` completes, until what was read is committed and acknowledged.
     */
    const work = (
      partition: number,
      token: string,
      stop: Deferred.Deferred<void>,
      lost: Deferred.Deferred<never, LeaseLost>
    ) => {
      const lease = leaseKey(o.prefix, o.group, partition)
      // Redis refused a fenced command: the lease is someone else's. Signalled
      // through `lost`, which interrupts all of the partition's work at once
      // (a failing stream would let the actions in flight finish first).
      const fencedOut = (): Effect.Effect<never, LeaseLost> =>
        Effect.zipRight(
          Deferred.fail(lost, new LeaseLost({ partition, reason: "fenced out" })),
          Effect.never
        )
      const fenced = <X>(reply: X | null): Effect.Effect<X, LeaseLost> =>
        reply === null ? fencedOut() : Effect.succeed(reply)
      const stream = streamKey(o.prefix, partition)
      const halted = new Set<string>()
      const batch = (reply: unknown): Chunk.Chunk<Raw> => Chunk.unsafeFromArray(parseEntries(partition, reply))
      // The group's last delivered ID as this worker knows it: every read checks
      // that nothing was delivered behind its back (a resent read).
      let lastDelivered = ""

      const pending = Stream.paginateChunkEffect("0-0", (cursor: string) =>
        runScript(redis, CLAIM, [lease, stream], [token, o.group, o.consumer, cursor, o.batchSize]).pipe(
          Effect.flatMap((reply) => fenced(reply as [string, unknown, string] | null)),
          Effect.map(([next, entries, delivered]) => {
            lastDelivered = delivered
            return [batch(entries), next === "0-0" ? Option.none() : Option.some(next)] as const
          })
        ))
      const read = Effect.suspend(() =>
        runScript(redis, READ, [lease, stream], [token, o.group, o.consumer, o.batchSize, lastDelivered])
      ).pipe(
        Effect.flatMap((reply) => fenced(reply as unknown)),
        Effect.flatMap((reply) => {
          if (reply === "moved") {
            return Effect.fail(new ReadsOutOfStep({ partition, expected: lastDelivered }))
          }
          const raws = batch(reply)
          if (!Chunk.isEmpty(raws)) lastDelivered = Chunk.unsafeLast(raws).entry.id
          return Chunk.isEmpty(raws) ? Effect.as(Effect.sleep(o.pollInterval), raws) : Effect.succeed(raws)
        }),
        Effect.mapError(Option.some)
      )
      // Ends once `stop` completes: what was read still goes through process, commit and XACK.
      const fresh = Stream.repeatEffectChunkOption(
        Effect.flatMap(Deferred.isDone(stop), (stopped) => stopped ? Effect.fail(Option.none()) : read)
      )

      const poison = (raw: Raw, error: unknown, attempts: number): Outcome<B> => {
        if (o.poison === "dead-letter") return { _tag: "Poison", raw, error, attempts }
        halted.add(raw.entry.key)
        return { _tag: "Halted", raw }
      }

      const handle = (raw: Raw): Effect.Effect<Outcome<B>, never, R1> => {
        if (halted.has(raw.entry.key)) return Effect.succeed({ _tag: "Halted", raw })
        let action: A
        try {
          if (raw.entry.key === "") throw new Error(`entry has no "${KEY_FIELD}" field (the key)`)
          if (raw.payload === undefined) throw new Error(`entry has no "${ACTION_FIELD}" field`)
          action = JSON.parse(raw.payload)
        } catch (error) {
          return Effect.succeed(poison(raw, error, 0))
        }
        let attempts = 0
        return Effect.suspend(() => {
          attempts++
          return o.process(action, raw.entry)
        }).pipe(
          Effect.retry(o.retry),
          Effect.either,
          Effect.map(Either.match({
            onLeft: (error) => poison(raw, error, attempts),
            onRight: (result): Outcome<B> => ({ _tag: "Processed", raw, action, result })
          })),
          // A defect (a throw) is a bug, not a transient failure: poison at once.
          Effect.catchAllDefect((defect) => Effect.succeed(poison(raw, defect, attempts)))
        )
      }

      const commitOne = (outcome: Outcome<B>): Effect.Effect<void, E2 | RedisError, R2> => {
        switch (outcome._tag) {
          case "Processed":
            return o.commit(outcome.result, outcome.action as A, outcome.raw.entry)
          case "Poison": {
            const { entry, payload } = outcome.raw
            return Effect.asVoid(command("XADD dead-letter", () =>
              redis.xadd(
                o.deadLetter,
                "*",
                "partition",
                String(partition),
                "id",
                entry.id,
                "key",
                entry.key,
                "action",
                payload ?? "",
                "error",
                errorText(outcome.error),
                "attempts",
                String(outcome.attempts),
                "consumer",
                o.consumer
              )
            ))
          }
          case "Halted":
            return Effect.void
        }
      }

      /** Commits a released chunk per key in order (keys in parallel), then acknowledges it. */
      const commitChunk = (chunk: Chunk.Chunk<Outcome<B>>) => {
        const byKey = new Map<string, Array<Outcome<B>>>()
        for (const outcome of chunk) {
          const list = byKey.get(outcome.raw.entry.key)
          if (list === undefined) byKey.set(outcome.raw.entry.key, [outcome])
          else list.push(outcome)
        }
        const done: Array<Outcome<B>> = []
        for (const outcome of chunk) if (outcome._tag !== "Halted") done.push(outcome)
        return Effect.forEach(byKey.values(), (list) => Effect.forEach(list, commitOne, { discard: true }), {
          concurrency: "unbounded",
          discard: true
        }).pipe(
          Effect.zipRight(
            done.length === 0 ? Effect.succeed(0) : runScript(redis, ACK, [lease, stream], [
              token,
              o.group,
              ...done.map((outcome) => outcome.raw.entry.id)
            ])
          ),
          Effect.flatMap((acked) => acked === -1 ? fencedOut() : Effect.void),
          Effect.as(Chunk.empty<never>())
        )
      }

      return ensureGroup(stream).pipe(
        Effect.zipRight(
          Stream.concat(pending, fresh).pipe(
            Ordered.mapEffect(handle, {
              concurrency: o.concurrency,
              window: o.window,
              key: (raw: Raw) => raw.orderKey,
              order: "key"
            }),
            Stream.mapChunksEffect(commitChunk),
            Stream.runDrain
          )
        )
      )
    }

    // Finalizers run uninterruptibly: the bounded calls in them are made
    // interruptible, or a timeout could not cut a call stuck while Redis is down.
    const release = (partition: number, token: string) =>
      Effect.interruptible(runScript(redis, RELEASE, [leaseKey(o.prefix, o.group, partition)], [token])).pipe(
        Effect.timeout(o.leaseTtl),
        Effect.ignore
      )

    /**
     * Owns `partition` from `acquiredAt` until the lease is lost, the work
     * fails, or `stop` completes and the work drained; then gives it up.
     */
    const own = (
      partition: number,
      token: string,
      acquiredAt: number,
      stop: Deferred.Deferred<void>
    ): Effect.Effect<void, never, R1 | R2> =>
      Effect.logDebug(`partition ${partition} taken`).pipe(
        Effect.zipRight(Deferred.make<never, LeaseLost>()),
        Effect.flatMap((lost) =>
          // The first to end (or fail) ends the partition's work.
          Effect.raceFirst(
            work(partition, token, stop, lost),
            Effect.raceFirst(keepLease(partition, token, acquiredAt), Deferred.await(lost))
          )
        ),
        Effect.zipRight(Effect.logDebug(`partition ${partition} handed over`)),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.void
            : Effect.logWarning(`partition ${partition} stopped; it will be taken again`, cause)
        ),
        Effect.ensuring(release(partition, token)),
        Effect.annotateLogs({ consumer: o.consumer, partition })
      )

    interface Owned {
      readonly fiber: Fiber.RuntimeFiber<void>
      readonly stop: Deferred.Deferred<void>
    }
    const owned = new Map<number, Owned>()

    /**
     * Gracefully: stop reading, let what was read be committed and
     * acknowledged (so the next owner has nothing to redo), for at most
     * `leaseTtl`; then interrupt what is left.
     */
    const handOver = (partitions: ReadonlyArray<number>): Effect.Effect<void> => {
      const leaving = partitions.map((partition) => owned.get(partition)!)
      for (const partition of partitions) owned.delete(partition)
      return Effect.forEach(leaving, ({ fiber, stop }) =>
        Deferred.succeed(stop, undefined).pipe(
          Effect.zipRight(Effect.interruptible(Fiber.await(fiber))),
          Effect.timeout(o.leaseTtl),
          Effect.catchAll(() => Fiber.interrupt(fiber))
        ), { concurrency: "unbounded", discard: true })
    }
    // Each consumer starts looking at a different partition: fewer collisions.
    const firstChoice = partitionOf(o.consumer, o.partitions)
    let tokenCount = 0

    const rebalance = (workers: Scope.Scope) => Effect.gen(function*() {
      const live = (yield* runScript(redis, HEARTBEAT, [members], [o.consumer, o.leaseTtl]).pipe(
        Effect.timeout(renewEvery)
      )) as number
      const share = Math.ceil(o.partitions / Math.max(1, live))
      for (const [partition, { fiber }] of owned) if (fiber.unsafePoll() !== null) owned.delete(partition)
      if (owned.size > share) {
        // In the background: the heartbeat must go on while they drain.
        yield* Effect.forkIn(handOver([...owned.keys()].slice(share)), workers)
        return
      }
      if (owned.size === share) return
      const candidates: Array<number> = []
      for (let i = 0; i < o.partitions; i++) {
        const partition = (firstChoice + i) % o.partitions
        if (!owned.has(partition)) candidates.push(partition)
      }
      const holders = yield* command("MGET", () => redis.mget(candidates.map((p) => leaseKey(o.prefix, o.group, p))))
      for (let i = 0; i < candidates.length && owned.size < share; i++) {
        if (holders[i] !== null) continue
        const partition = candidates[i]
        const acquiredAt = yield* Clock.currentTimeMillis
        const token = `${o.consumer}/${acquiredAt}/${tokenCount++}/${Math.random().toString(36).slice(2)}`
        const acquired = yield* command("SET NX", () =>
          redis.set(leaseKey(o.prefix, o.group, partition), token, "PX", o.leaseTtl, "NX"))
        if (acquired === "OK") {
          const stop = yield* Deferred.make<void>()
          owned.set(partition, { fiber: yield* Effect.forkIn(own(partition, token, acquiredAt, stop), workers), stop })
        }
      }
    })

    const leave = Effect.interruptible(command("ZREM", () => redis.zrem(members, o.consumer))).pipe(
      Effect.timeout(o.leaseTtl),
      Effect.ignore
    )

    return Effect.scoped(Effect.gen(function*() {
      // Partition workers live in their own scope: on shutdown they are first
      // handed over (drained), then what is left is interrupted.
      const workers = yield* Scope.make()
      yield* Effect.addFinalizer(() =>
        handOver([...owned.keys()]).pipe(
          Effect.zipRight(Scope.close(workers, Exit.void)),
          Effect.zipRight(leave)
        )
      )
      return yield* rebalance(workers).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("rebalance failed; retrying", cause)),
        Effect.zipRight(Effect.sleep(renewEvery)),
        Effect.forever
      )
    })).pipe(Effect.annotateLogs({ consumer: o.consumer }))
  })
