/**
 * `effect-ordered/kafka`: per-key ordered, at-least-once processing of an
 * Apache Kafka topic, after Confluent's Parallel Consumer. Kafka's group
 * protocol shares the partitions among the consumers; inside a partition,
 * records run concurrently across keys (far beyond the partition count), one
 * at a time per key, and are committed per key in log order. The offset
 * committed to Kafka is the partition's contiguous completed offset; the
 * completed offsets above it travel in the commit metadata
 * (`Checkpoint.encode`), so a restarted consumer or a partition's next owner
 * skips them.
 *
 * Client: KafkaJS (`kafkajs`, an optional peer dependency; pure JavaScript,
 * runs on Node, Bun and Deno).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { KafkaError } from "./errors.ts"
import * as consumer from "./internal/consumer.ts"
import * as producer from "./internal/producer.ts"
import type * as runtime from "../internal/runtime.ts"

export {
  /**
   * @since 0.1.0
   */
  KafkaError
} from "./errors.ts"

export {
  /**
   * @since 0.1.0
   */
  skippedRecords
} from "./metrics.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface ProducerOptions {
  /** Bootstrap brokers, `"host:port"`. */
  readonly brokers: ReadonlyArray<string>
  /** The topic to publish to. */
  readonly topic: string
  /** The client id the broker sees. Default: `"effect-ordered"`. */
  readonly clientId?: string | undefined
}

/**
 * Where a published record landed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Published {
  readonly partition: number
  readonly offset: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Producer<A> {
  /**
   * Sends `action` (JSON) with `key` (a non-empty string) as the record key:
   * Kafka's default partitioner (murmur2 of the key, as in the Java client)
   * puts every record of a key in one partition. Waits for all in-sync
   * replicas to acknowledge. Idempotent, one request in flight: a retried
   * send neither duplicates the record nor reorders a key's records.
   */
  readonly publish: (key: string, action: A) => Effect.Effect<Published, KafkaError>
  /** Closes the connection (if one was opened). */
  readonly disconnect: Effect.Effect<void>
}

/**
 * Makes a producer; it connects on the first `publish`. Throws
 * `Cause.IllegalArgumentException` for invalid options; `publish` dies with
 * it for an invalid key.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { makeProducer } from "effect-ordered/kafka"
 *
 * const producer = makeProducer<{ seq: number }>({ brokers: ["127.0.0.1:9092"], topic: "orders" })
 * const program = Effect.forEach([1, 2, 3], (seq) => producer.publish("account-17", { seq })).pipe(
 *   Effect.ensuring(producer.disconnect)
 * )
 * ```
 *
 * @since 0.1.0
 * @category producer
 */
export const makeProducer: <A>(options: ProducerOptions) => Producer<A> = producer.makeProducer

/**
 * A record handed to `process` and `commit`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Record {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** The record key (`null` for a record without one). A record whose key is `null` or empty is ordered with nothing. */
  readonly key: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConsumeOptions<A, B, E1, R1, E2, R2, I = unknown> {
  /** Bootstrap brokers, `"host:port"`. */
  readonly brokers: ReadonlyArray<string>
  readonly topic: string
  /** The consumer group. A new group starts at the beginning of the topic. */
  readonly group: string
  /** This consumer's name: the client id, and the `consumer` header of its dead letters. Default: `` `${group}-${random}` ``. */
  readonly consumer?: string | undefined
  /**
   * The costly part, run concurrently. Failures are retried with `retry`,
   * then handled by `poison`; a defect (a throw) is poison at once. May run
   * more than once for a record (at-least-once).
   */
  readonly process: (action: A, record: Record) => Effect.Effect<B, E1, R1>
  /**
   * Applies a processed action, per key in log order (per partition in order
   * `"partition"`). May be called again for a record after a crash or a
   * rebalance: make it idempotent. A failure stops the partition's work; the
   * partition starts again from its last checkpoint.
   */
  readonly commit: (result: B, action: A, record: Record) => Effect.Effect<void, E2, R2>
  /**
   * At most this many `process` calls at once, per partition: an integer ≥ 1,
   * or `"auto"`, a limit per partition that follows the downstream's capacity
   * from the calls' own latency, as `Ordered`'s `concurrency: "auto"` does.
   */
  readonly concurrency: number | "auto"
  /** With `concurrency: "auto"`: the most calls at once per partition. Default: 1000. */
  readonly maxConcurrency?: number | undefined
  /** With `concurrency: "auto"`: the limit never falls below it. Default: 1. */
  readonly minConcurrency?: number | undefined
  /**
   * Reorder window per partition: records taken at once (in flight, plus
   * finished and waiting for an earlier record of their key). `"auto"`
   * (default): starts at `3 × concurrency` and grows, up to `maxWindow`,
   * while a key's records fill it and workers sit idle, then shrinks back,
   * as `Ordered`'s `"auto"` does. Or a fixed window: an integer ≥
   * `concurrency`. Always bounded (`Infinity` is refused): a topic may be
   * longer than memory.
   */
  readonly window?: number | "auto" | undefined
  /** With `window: "auto"`: the most it grows to, an integer ≥ `concurrency`. Default: `128 × concurrency`. */
  readonly maxWindow?: number | undefined
  /** `"key"` (default): per key in log order. `"partition"`: the partition's log order. `"none"`: no order. */
  readonly order?: "key" | "partition" | "none" | undefined
  /** Decodes each record's JSON value; a record that does not decode is a dead letter. Default: the parsed JSON as is. */
  readonly schema?: runtime.SchemaOf<A, I> | undefined
  /** Retries of a failed (or timed-out) `process`. Default: up to 4 retries, exponential from 100 milliseconds. */
  readonly retry?: Schedule.Schedule<unknown, NoInfer<E1> | runtime.TimeoutException, never> | undefined
  /** Each `process` attempt is interrupted after this long (and retried). Default: no limit. */
  readonly timeout?: runtime.DurationInput | undefined
  /**
   * A record whose `process` still fails after `retry`, or dies, or whose
   * value does not decode. `"dead-letter"` (default): it goes to
   * `deadLetterTopic` with its error and the key moves on. `"halt-key"`: it
   * and every later record of its key are left undone while this consumer
   * holds the partition (other keys go on; the committed offset stops below
   * it).
   */
  readonly poison?: "dead-letter" | "halt-key" | undefined
  /** Dead-letter topic. Default: `` `${topic}.dlq` ``. */
  readonly deadLetterTopic?: string | undefined
  /**
   * Every this long, the completed offsets of every partition whose offsets
   * moved are committed to Kafka, in one request, one request at a time
   * (when the group answers later than this, the next goes as soon as it
   * answers): a crash redoes about this much work plus a request's round
   * trip. Default: 50 milliseconds.
   */
  readonly commitInterval?: runtime.DurationInput | undefined
  /**
   * On a rebalance or shutdown, how long a partition's work in flight may take
   * to finish and be committed before it is interrupted. Default: 10 seconds.
   */
  readonly drainTimeout?: runtime.DurationInput | undefined
  /** The group session timeout: a consumer silent this long is removed from the group. Default: 30 seconds. */
  readonly sessionTimeout?: runtime.DurationInput | undefined
  /** Heartbeat interval (below a third of `sessionTimeout`). Default: 3 seconds. */
  readonly heartbeatInterval?: runtime.DurationInput | undefined
  /** How long the group waits for every member to rejoin in a rebalance. Default: 60 seconds. */
  readonly rebalanceTimeout?: runtime.DurationInput | undefined
  /** Longest wait of a fetch for new records. Default: 100 milliseconds. */
  readonly maxWaitTime?: runtime.DurationInput | undefined
}

/**
 * Runs a consumer until interrupted. Joins `group`, and for each partition
 * it is given: reads from the committed offset, skips the records the commit
 * metadata marks done, processes the rest concurrently (per key in order),
 * commits per key in order and every `commitInterval` commits the
 * contiguous completed offset of each partition that moved to Kafka with
 * the completed offsets above it as metadata. Records fetched per partition
 * and not yet taken stay within a window (`maxWindow` with `window: "auto"`)
 * plus one fetch: the partition's fetching pauses while its queue is full. On a rebalance the completed offsets are committed at once,
 * every partition stops taking records, and its `commit`s wait for the new
 * assignment (at most `drainTimeout`): a partition it keeps finishes, commits
 * and starts again from that commit; one it lost is interrupted without
 * committing what its next owner redoes. Every write is fenced by the
 * assignment it was taken under: when the group no longer knows this
 * consumer (a lost session), its partitions' work stops at once and writes
 * nothing more. On interruption the partitions drain (at most `drainTimeout`), then
 * the consumer leaves the group. Fails with `KafkaError` when the client
 * gives up; invalid options: dies with `Cause.IllegalArgumentException`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { consume } from "effect-ordered/kafka"
 *
 * const applied = new Map<string, number>()
 * const program = consume({
 *   brokers: ["127.0.0.1:9092"], topic: "orders", group: "billing",
 *   concurrency: 100,
 *   process: (action: { seq: number }) => Effect.succeed(action.seq),
 *   // Idempotent: applies a key's sequence number only once, in order.
 *   commit: (seq, _action, record) =>
 *     Effect.sync(() => {
 *       if ((applied.get(record.key!) ?? 0) < seq) applied.set(record.key!, seq)
 *     })
 * })
 * ```
 *
 * @since 0.1.0
 * @category consumer
 */
export const consume: <A, B, E1, R1, E2, R2, I = unknown>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
) => Effect.Effect<never, KafkaError, R1 | R2> = consumer.consume
