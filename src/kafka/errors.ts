/**
 * Errors of the Kafka integration.
 *
 * @since 0.1.0
 */
import { type TaggedErrorConstructor, TaggedErrorWithMessage } from "../errors.ts"

const KafkaErrorBase: TaggedErrorConstructor<"KafkaError", {
  /** What failed, e.g. `"send"`, `"connect"` or `"commit offsets"`. */
  readonly operation: string
  /** What the client reported. */
  readonly cause: unknown
}> = TaggedErrorWithMessage(
  "KafkaError",
  (e) => {
    const reason = e.cause instanceof Error ? e.cause.message : String(e.cause)
    return `Kafka ${e.operation} failed: ${reason}`
  }
)

/**
 * A call to the Kafka client failed (the broker refused it or could not be
 * reached). The producer surfaces it to the caller; the consumer fails with it
 * only when the client gives up for good (it retries and rejoins on its own).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { makeProducer, type KafkaError } from "effect-ordered/kafka"
 *
 * const producer = makeProducer<{ amount: number }>({ brokers: ["127.0.0.1:9092"], topic: "orders" })
 * const program = producer.publish("account-17", { amount: 5 }).pipe(
 *   Effect.catchTag("KafkaError", (e: KafkaError) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class KafkaError extends KafkaErrorBase {}
