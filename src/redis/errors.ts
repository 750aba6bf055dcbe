/**
 * Errors of the Redis Streams integration.
 *
 * @since 0.1.0
 */
import { type TaggedErrorConstructor, TaggedErrorWithMessage } from "../errors.ts"

const RedisErrorBase: TaggedErrorConstructor<"RedisError", {
  /** The command or script that failed, e.g. `"XADD"` or `"fenced XACK"`. */
  readonly command: string
  /** What the client reported (connection closed, error reply, …). */
  readonly cause: unknown
}> = TaggedErrorWithMessage(
  "RedisError",
  (e) => {
    const reason = e.cause instanceof Error ? e.cause.message : String(e.cause)
    return `Redis command ${e.command} failed: ${reason}`
  }
)

/**
 * A Redis command failed: the server replied with an error or the
 * connection was lost. The consumer retries on its own (it gives the
 * partition up and takes it again); the producer surfaces it to the caller.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { makeProducer, type RedisError } from "effect-ordered/redis"
 *
 * const redis = new Redis({ lazyConnect: true }) // connects on its first command
 * const producer = makeProducer<{ amount: number }>({ redis, prefix: "orders", partitions: 8 })
 * const program = producer.publish("account-17", { amount: 5 }).pipe(
 *   Effect.catchTag("RedisError", (e: RedisError) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class RedisError extends RedisErrorBase {}

const StaleFenceErrorBase: TaggedErrorConstructor<"StaleFenceError", {
  /** The key holding the highest fence the sink has seen. */
  readonly fenceKey: string
  /** The fence the refused write carried (`entry.fence`). */
  readonly fence: number
  /** The higher fence the sink had already seen: a newer owner's. */
  readonly current: number
}> = TaggedErrorWithMessage(
  "StaleFenceError",
  (e) => `write with fence ${e.fence} refused: ${e.fenceKey} has seen fence ${e.current}`
)

/**
 * A fenced sink write was refused, and nothing of it applied: it carried a
 * fencing token below one the sink has already seen, so it comes from a
 * consumer whose lease of the partition was taken over. Returned by the
 * scripts of `fencedScript`. As the failure of a `commit`, it stops the
 * partition's work on that (stale) consumer.
 *
 * @example
 * ```ts
 * import { StaleFenceError } from "effect-ordered/redis"
 *
 * const error = new StaleFenceError({ fenceKey: "balances:fence:{3}", fence: 6, current: 7 })
 * console.log(error.message)
 * // write with fence 6 refused: balances:fence:{3} has seen fence 7
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleFenceError extends StaleFenceErrorBase {}
