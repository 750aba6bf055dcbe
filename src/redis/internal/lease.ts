import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Redis } from "ioredis"
import type { RedisError } from "../errors.ts"
import { fenceKey, leaseKey, RELEASE, RENEW, runScript, TAKE } from "./redis.ts"

/**
 * Partition leases: taking one (with a fencing token), keeping it, checking
 * it locally before a commit, and giving it back.
 *
 * @internal
 */

/** The lease of a partition is no longer (certainly) ours: its work stops. */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly partition: number; readonly reason: string }> {
  override get message(): string {
    return `lease of partition ${this.partition} lost: ${this.reason}`
  }
}

/** A lease held by this consumer. */
export interface Lease {
  readonly partition: number
  /** Redis key of the lease. */
  readonly key: string
  /** This acquisition's value of the lease key: fenced scripts compare it. */
  readonly token: string
  /** The fencing token: grows with every acquisition of the partition, by any consumer. */
  readonly fence: number
  /** When the lease expires in Redis at the latest, on this consumer's clock (ms); moved on by renewals. */
  deadline: number
}

export interface LeaseTimes {
  /** Lease time-to-live, ms. */
  readonly ttl: number
  /** Work stops this long before the lease would expire in Redis, ms. */
  readonly margin: number
  /** Renewal period, ms. */
  readonly renewEvery: number
}

export const leaseTimes = (ttl: number): LeaseTimes => ({
  ttl,
  margin: Math.max(1, Math.floor(ttl / 10)),
  renewEvery: Math.max(1, Math.floor(ttl / 3))
})

/** Takes the partition's lease if no one holds it: `SET NX` and `INCR` of its fence counter, atomically. */
export const take = (
  redis: Redis,
  prefix: string,
  group: string,
  partition: number,
  token: string,
  ttl: number
): Effect.Effect<Option.Option<Lease>, RedisError> =>
  Effect.gen(function*() {
    const key = leaseKey(prefix, group, partition)
    const sent = yield* Clock.currentTimeMillis
    const fence = (yield* runScript(redis, TAKE, [key, fenceKey(prefix, group, partition)], [token, ttl])) as number
    return fence === 0 ? Option.none() : Option.some({ partition, key, token, fence, deadline: sent + ttl })
  })

/** Renews the lease until it is lost; never succeeds. */
export const keep = (redis: Redis, lease: Lease, times: LeaseTimes): Effect.Effect<never, LeaseLost> => {
  const lost = (reason: string) => new LeaseLost({ partition: lease.partition, reason })
  const renew = Effect.gen(function*() {
    yield* Effect.sleep(times.renewEvery)
    const sent = yield* Clock.currentTimeMillis
    const left = lease.deadline - times.margin - sent
    if (left <= 0) return yield* lost("not renewed in time (this process was paused or too busy)")
    const renewed = yield* runScript(redis, RENEW, [lease.key], [lease.token, times.ttl]).pipe(
      Effect.timeout(left),
      Effect.match({ onFailure: (left) => ({ _tag: "Left" as const, left }), onSuccess: (right) => ({ _tag: "Right" as const, right }) })
    )
    if (renewed._tag === "Right") {
      if (renewed.right !== 1) return yield* lost("taken by another consumer (Redis refused the renewal)")
      lease.deadline = sent + times.ttl
    } else if ((yield* Clock.currentTimeMillis) >= lease.deadline - times.margin) {
      const why = renewed.left._tag === "RedisError" ? renewed.left.message : "no reply from Redis"
      return yield* lost(`not renewed in time (${why})`)
    }
  })
  return Effect.forever(renew)
}

/**
 * Fails once the lease may have expired in Redis (the deadline less the
 * margin has passed on this consumer's clock). Checked before each commit:
 * a process that was paused past its lease finds out here, before its first
 * late commit, rather than when the lease keeper next wakes up.
 */
export const check = (lease: Lease, times: LeaseTimes): Effect.Effect<void, LeaseLost> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    now < lease.deadline - times.margin
      ? Effect.void
      : Effect.fail(new LeaseLost({ partition: lease.partition, reason: "its deadline passed before a commit" })))

// Finalizers run uninterruptibly: the bounded call in it is made
// interruptible, or a timeout could not cut a call stuck while Redis is down.
/** Gives the lease back (if it is still ours); bounded by the lease's time-to-live, never fails. */
export const release = (redis: Redis, lease: Lease, times: LeaseTimes): Effect.Effect<void> =>
  Effect.interruptible(runScript(redis, RELEASE, [lease.key], [lease.token])).pipe(
    Effect.timeout(times.ttl),
    Effect.ignore
  )
