import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import type { RedisError } from "../errors.ts"
import * as Lease from "./lease.ts"
import { command, HEARTBEAT, leaseKey, membersKey, partitionOf, runScript } from "./redis.ts"
import * as runtime from "../../internal/runtime.ts"

/**
 * Group membership: a heartbeat in a sorted set counts the live consumers;
 * each consumer keeps `ceil(P / live)` partitions, taking free leases and
 * handing surplus partitions over.
 *
 * @internal
 */

export interface MembershipOptions {
  readonly redis: Redis
  readonly prefix: string
  readonly group: string
  readonly consumer: string
  readonly partitions: number
  readonly times: Lease.LeaseTimes
}

/** Runs a partition's work from taking its lease until `stop` completes and it drained (or it stops on its own). */
export type Owner<R> = (lease: Lease.Lease, stop: Deferred.Deferred<void>) => Effect.Effect<void, never, R>

interface Owned {
  readonly fiber: runtime.RuntimeFiber<void>
  readonly stop: Deferred.Deferred<void>
}

export interface Membership {
  /** One heartbeat, then taking or handing over partitions towards the fair share. */
  readonly rebalance: Effect.Effect<void, RedisError | runtime.TimeoutException>
  /**
   * Gracefully gives every partition up: stop reading, let what was read be
   * committed and acknowledged (so the next owner has nothing to redo), for
   * at most the lease TTL; then interrupt what is left.
   */
  readonly handOverAll: Effect.Effect<void>
  /** Removes this consumer from the group's members (bounded, never fails). */
  readonly leave: Effect.Effect<void>
}

export const make = <R>(o: MembershipOptions, owner: Owner<R>, workers: Scope.Scope): Effect.Effect<Membership, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const owned = new Map<number, Owned>()
    const members = membersKey(o.prefix, o.group)
    // Each consumer starts looking at a different partition: fewer collisions.
    const firstChoice = partitionOf(o.consumer, o.partitions)
    let acquisitions = 0

    const handOver = (partitions: ReadonlyArray<number>): Effect.Effect<void> => {
      const leaving = partitions.map((partition) => owned.get(partition)!)
      for (const partition of partitions) owned.delete(partition)
      return Effect.forEach(leaving, ({ fiber, stop }) =>
        Deferred.succeed(stop, undefined).pipe(
          runtime.zipRight(Effect.interruptible(Fiber.await(fiber))),
          Effect.timeout(o.times.ttl),
          runtime.catchAll(() => Fiber.interrupt(fiber))
        ), { concurrency: "unbounded", discard: true })
    }

    const takeFree = (share: number) => Effect.gen(function*() {
      const candidates: Array<number> = []
      for (let i = 0; i < o.partitions; i++) {
        const partition = (firstChoice + i) % o.partitions
        if (!owned.has(partition)) candidates.push(partition)
      }
      const holders = yield* command("MGET", () => o.redis.mget(candidates.map((p) => leaseKey(o.prefix, o.group, p))))
      for (let i = 0; i < candidates.length && owned.size < share; i++) {
        if (holders[i] !== null) continue
        const now = yield* Clock.currentTimeMillis
        const token = `${o.consumer}/${now}/${acquisitions++}/${Math.random().toString(36).slice(2)}`
        const lease = yield* Lease.take(o.redis, o.prefix, o.group, candidates[i], token, o.times.ttl)
        if (Option.isSome(lease)) {
          const stop = yield* Deferred.make<void>()
          const fiber = yield* Effect.forkIn(Effect.provide(owner(lease.value, stop), context), workers)
          owned.set(candidates[i], { fiber, stop })
        }
      }
    })

    const rebalance = Effect.gen(function*() {
      const live = (yield* runScript(o.redis, HEARTBEAT, [members], [o.consumer, o.times.ttl]).pipe(
        Effect.timeout(o.times.renewEvery)
      )) as number
      const share = Math.ceil(o.partitions / Math.max(1, live))
      for (const [partition, { fiber }] of owned) if (runtime.poll(fiber) !== undefined) owned.delete(partition)
      // In the background: the heartbeat must go on while they drain.
      if (owned.size > share) yield* Effect.forkIn(handOver([...owned.keys()].slice(share)), workers)
      else if (owned.size < share) yield* takeFree(share)
    })

    const handOverAll = Effect.suspend(() => handOver([...owned.keys()]))
    const leave = Effect.interruptible(command("ZREM", () => o.redis.zrem(members, o.consumer))).pipe(
      Effect.timeout(o.times.ttl),
      Effect.ignore
    )
    return { rebalance, handOverAll, leave }
  })
