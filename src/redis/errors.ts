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
