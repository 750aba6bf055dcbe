/**
 * `effect-ordered/redis`: scale per-key ordered processing out over Redis
 * Streams. Producers append actions to `P` partition streams by key hash;
 * consumers in a group share the partitions through leases in Redis, process
 * each partition's entries concurrently in key order (the ordering engine
 * of `Ordered`, driven by the partition worker every transport shares),
 * commit per key in order and acknowledge (`XACK`) an entry only after
 * its commit succeeded. Delivery is at-least-once with per-key order: make
 * the commit idempotent, and fence it with `entry.fence` (`fencedScript`) so
 * that a consumer that lost its lease cannot write after the next owner.
 *
 * Client: ioredis (a peer dependency; pass your own `Redis` instance).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import type { RedisError, StaleFenceError } from "./errors.ts"
import * as consumer from "./internal/consumer.ts"
import * as fence from "./internal/fence.ts"
import * as producer from "./internal/producer.ts"
import * as redis from "./internal/redis.ts"
import * as runtime from "../internal/runtime.ts"

export {
  /**
   * @since 0.1.0
   */
  RedisError,
  /**
   * @since 0.1.0
   */
  StaleFenceError
} from "./errors.ts"

/**
 * Where an action goes: `partitionOf(key, partitions)` is the 32-bit FNV-1a
 * hash of the key's UTF-16 code units, modulo `partitions`. Stable across
 * processes, runtimes and versions of this package; changing `partitions`
 * moves keys (drain the streams first). Throws
 * `Cause.IllegalArgumentException` unless `key` is a non-empty string and
 * `partitions` an integer ≥ 1.
 *
 * @example
 * ```ts
 * import { partitionOf } from "effect-ordered/redis"
 *
 * // The same number in every process and runtime:
 * console.log(partitionOf("account-17", 8))
 * // 3
 * ```
 *
 * @since 0.1.0
 * @category partitioning
 */
export const partitionOf: (key: string, partitions: number) => number = redis.checkedPartitionOf

/**
 * The Redis key of a partition's stream: `` `${prefix}:{${partition}}` ``
 * (the braces are a Redis Cluster hash tag: a partition's stream and its
 * leases live in one slot). Throws `Cause.IllegalArgumentException` unless
 * `prefix` is a non-empty string and `partition` an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { streamKey } from "effect-ordered/redis"
 *
 * console.log(streamKey("orders", 3))
 * // orders:{3}
 * ```
 *
 * @since 0.1.0
 * @category partitioning
 */
export const streamKey: (prefix: string, partition: number) => string = redis.checkedStreamKey

/**
 * The default dead-letter stream of a group: `` `${prefix}:${group}:dead-letter` ``.
 * Throws `Cause.IllegalArgumentException` unless both are non-empty strings.
 *
 * @example
 * ```ts
 * import { deadLetterKey } from "effect-ordered/redis"
 *
 * console.log(deadLetterKey("orders", "billing"))
 * // orders:billing:dead-letter
 * ```
 *
 * @since 0.1.0
 * @category partitioning
 */
export const deadLetterKey: (prefix: string, group: string) => string = redis.checkedDeadLetterKey

/**
 * @since 0.1.0
 * @category models
 */
export interface ProducerOptions {
  /** The client to publish with. */
  readonly redis: Redis
  /** Stream names are `` `${prefix}:{${partition}}` ``. A non-empty string. */
  readonly prefix: string
  /** Number of partitions `P`, an integer ≥ 1; the same in every producer and consumer. */
  readonly partitions: number
  /**
   * Trim each stream to about this many entries (`XADD … MAXLEN ~ n`). An
   * integer ≥ 1. Default: no trimming. Entries trimmed before they were
   * consumed are lost: keep it well above the largest backlog.
   */
  readonly maxLen?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Producer<A> {
  /**
   * Appends `action` (JSON-encoded) for `key` (a non-empty string) to
   * partition `partitionOf(key, P)`; succeeds with the entry's stream ID.
   */
  readonly publish: (key: string, action: A) => Effect.Effect<string, RedisError>
  /** The partition of `key`. */
  readonly partitionOf: (key: string) => number
}

/**
 * Makes a producer. Throws `Cause.IllegalArgumentException` for invalid
 * options; `publish` dies with it for an invalid key or an action JSON
 * cannot encode (`undefined`, a function, a BigInt, a cycle).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { makeProducer } from "effect-ordered/redis"
 *
 * const redis = new Redis({ lazyConnect: true }) // connects on its first command
 * const producer = makeProducer<{ seq: number }>({ redis, prefix: "orders", partitions: 8 })
 * const program = Effect.forEach([1, 2, 3], (seq) => producer.publish("account-17", { seq }))
 * ```
 *
 * @since 0.1.0
 * @category producer
 */
export const makeProducer: <A>(options: ProducerOptions) => Producer<A> = producer.makeProducer

/**
 * A stream entry handed to `process` and `commit`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** The partition it was read from. */
  readonly partition: number
  /** Its stream ID (`"<ms>-<seq>"`). */
  readonly id: string
  /** The key it was published with. */
  readonly key: string
  /**
   * The fencing token of the lease under which it was read: a number that
   * grows with every acquisition of the partition's lease, by any consumer.
   * A sink that stores the highest fence it has seen and refuses writes
   * carrying a lower one never applies a write of a consumer whose lease
   * was taken over (see `fencedScript`).
   */
  readonly fence: number
}

/**
 * A processed action, as handed to `commitBatch`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Committed<A, B> {
  readonly result: B
  readonly action: A
  readonly entry: Entry
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConsumeOptions<A, B, E1, R1, E2, R2, I = unknown> {
  /** The client; all commands are non-blocking, one connection is enough. */
  readonly redis: Redis
  /** As given to the producer. */
  readonly prefix: string
  /** As given to the producer. */
  readonly partitions: number
  /** The consumer group (created on first use, from the start of each stream). */
  readonly group: string
  /** This consumer's name, unique among the group's live consumers. */
  readonly consumer: string
  /**
   * The costly part, run concurrently (one action of a key at a time, in
   * stream order). Failures are retried with `retry`, then handled by
   * `poison`; a defect (a throw) is handled by `poison` at once. May run
   * more than once for an action (at-least-once).
   */
  readonly process: (action: A, entry: Entry) => Effect.Effect<B, E1, R1>
  /**
   * Applies a processed action: called per key in stream order, after every
   * earlier action of the key was committed. The entry is acknowledged only
   * after it succeeds. May be called again for an action after a crash or a
   * lost lease: make it idempotent (e.g. apply only if the action's sequence
   * number is above the last applied), and fence it with `entry.fence` so
   * that a consumer that lost its lease cannot write (`fencedScript`). A
   * failure stops the partition's work; its unacknowledged entries are
   * processed again when it is taken again. Give `commit` or `commitBatch`.
   */
  readonly commit?: ((result: B, action: A, entry: Entry) => Effect.Effect<void, E2, R2>) | undefined
  /**
   * Instead of `commit`: applies a chunk of released results at once (one
   * round trip), in stream order per key (keys interleaved), all of one
   * partition and one fence. Chunks are what was released while the
   * previous chunk was being applied, so they grow with the load. The
   * chunk's entries are acknowledged together after it succeeds. Same
   * idempotence and fencing advice as `commit`.
   */
  readonly commitBatch?: ((committed: ReadonlyArray<Committed<A, B>>) => Effect.Effect<void, E2, R2>) | undefined
  /**
   * Decodes each entry's JSON action (on read): an action that does not
   * match is poison (dead-lettered, or its key halted), `process` never
   * sees it. Default: the parsed JSON as is.
   */
  readonly schema?: runtime.SchemaOf<A, I> | undefined
  /**
   * Each `process` attempt is interrupted after this long and counts as a
   * failed attempt (a `Cause.TimeoutException`): it is retried with `retry`,
   * then handled by `poison`, so a stuck action holds up only its own key.
   * Default: none.
   */
  readonly timeout?: runtime.DurationInput | undefined
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
   * Reorder window per partition: entries taken at once (in flight, plus
   * finished and waiting for an earlier entry of their key). `"auto"`
   * (default): starts at `3 × concurrency` and grows, up to `maxWindow`,
   * while a key's entries fill it and workers sit idle, then shrinks back,
   * as `Ordered`'s `"auto"` does. Or a fixed window: an integer ≥
   * `concurrency`. Always bounded (`Infinity` is refused): a stream may be
   * longer than memory.
   */
  readonly window?: number | "auto" | undefined
  /** With `window: "auto"`: the most it grows to, an integer ≥ `concurrency`. Default: `128 × concurrency`. */
  readonly maxWindow?: number | undefined
  /** Entries read per `XREADGROUP` / `XAUTOCLAIM`. An integer ≥ 1. Default: the window's starting size. */
  readonly batchSize?: number | undefined
  /**
   * Partition lease and consumer heartbeat time-to-live. Leases are renewed
   * every third of it; a consumer that cannot renew stops a partition's work
   * a tenth of it before the lease expires. A crashed consumer's partitions
   * are taken over after about this long; a hand-over waits at most this
   * long for what was read to be committed. Default: 10 seconds.
   */
  readonly leaseTtl?: runtime.DurationInput | undefined
  /** Pause between reads that found nothing new. Default: 100 milliseconds. */
  readonly pollInterval?: runtime.DurationInput | undefined
  /**
   * Retries of a failed or timed-out `process`. Default: up to 4 retries, exponential
   * from 100 milliseconds. Defects and interruptions are not retried.
   */
  readonly retry?: Schedule.Schedule<unknown, NoInfer<E1> | runtime.TimeoutException, never> | undefined
  /**
   * What happens to an action whose `process` still fails after `retry`,
   * dies, or whose entry has no key or no valid JSON action. `"dead-letter"` (default): append it
   * with its error to `deadLetter`, acknowledge it, and let its key move on.
   * `"halt-key"`: leave it and every later action of its key unacknowledged
   * (other keys go on) until the partition is taken again.
   */
  readonly poison?: "dead-letter" | "halt-key" | undefined
  /** Dead-letter stream. Default: `` `${prefix}:${group}:dead-letter` ``. */
  readonly deadLetter?: string | undefined
}

/**
 * Runs a consumer until interrupted: keeps `ceil(P / live consumers)`
 * partitions (leases in Redis, renewed), processes each owned partition's
 * entries (first the pending entries of its previous owner, by
 * `XAUTOCLAIM`, then new ones by `XREADGROUP`) concurrently in key order
 * (`window`), commits per key in order, and acknowledges each entry after its
 * commit (or, with `commitBatch`, a released chunk at a time). Reads and
 * acknowledgements are fenced by the lease in Redis; every lease acquisition
 * carries a fencing token (`entry.fence`) for the sink, and the lease
 * deadline is checked before each commit. Redis failures are logged (with
 * why the partition stopped) and retried. Giving a partition up (to a new
 * consumer, or on interruption) is a hand-over: reading stops, what was read
 * is processed, committed and acknowledged (for at most `leaseTtl`, then the
 * rest is interrupted), the lease is deleted; on interruption the consumer
 * then leaves the group. Invalid options: dies with
 * `Cause.IllegalArgumentException`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { consume } from "effect-ordered/redis"
 *
 * const redis = new Redis({ lazyConnect: true }) // connects on its first command
 * const program = consume({
 *   redis, prefix: "orders", partitions: 8, group: "billing", consumer: `billing-${process.pid}`,
 *   concurrency: 16,
 *   process: (action: { seq: number }) => Effect.succeed(action.seq),
 *   // Idempotent: applies a key's sequence number only once, in order.
 *   commit: (seq, _action, entry) =>
 *     Effect.asVoid(Effect.promise(() =>
 *       redis.eval(
 *         "if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end",
 *         1, "applied", entry.key, seq
 *       )
 *     ))
 * })
 * ```
 *
 * @since 0.1.0
 * @category consumer
 */
export const consume: <A, B, E1, R1, E2, R2, I = unknown>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
) => Effect.Effect<never, never, R1 | R2> = consumer.consume

/**
 * The fence of a fenced sink write.
 *
 * @since 0.1.0
 * @category models
 */
export interface FencedScriptCall {
  /**
   * Where the sink keeps the highest fence it has seen: one key per
   * partition is enough (fences grow per partition), e.g.
   * `` `balances:fence:{${entry.partition}}` ``. In Redis Cluster it must share
   * a slot with the script's keys.
   */
  readonly fenceKey: string
  /** `entry.fence` of what is being committed. */
  readonly fence: number
  /** The script's own keys: `KEYS[1]…` in its body. */
  readonly keys?: ReadonlyArray<string> | undefined
  /** The script's own arguments: `ARGV[1]…` in its body. */
  readonly args?: ReadonlyArray<string | number> | undefined
}

/**
 * Makes a fenced sink write out of a Lua script: the script runs only if
 * `fence` is at least the highest fence stored at `fenceKey` (which it then
 * raises), atomically with the check; otherwise nothing is applied and the
 * call fails with `StaleFenceError`. A consumer paused or cut off past its
 * lease can then never overwrite what the partition's next owner committed.
 * The body sees only its own `KEYS` and `ARGV`; its return value is the
 * call's result. Scripts are sent by SHA (`EVALSHA`), with a fallback to `EVAL`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { consume, fencedScript } from "effect-ordered/redis"
 *
 * // Sets a key's balance, refusing a stale owner's write.
 * const setBalance = fencedScript("redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])")
 * const redis = new Redis({ lazyConnect: true }) // connects on its first command
 * const program = consume({
 *   redis, prefix: "orders", partitions: 8, group: "billing", consumer: `billing-${process.pid}`,
 *   concurrency: 16,
 *   process: (action: { balance: number }) => Effect.succeed(action.balance),
 *   commit: (balance, _action, entry) =>
 *     Effect.asVoid(setBalance(redis, {
 *       fenceKey: `balances:fence:{${entry.partition}}`,
 *       fence: entry.fence,
 *       keys: ["balances"],
 *       args: [entry.key, balance]
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category sinks
 */
export const fencedScript: (
  lua: string
) => (redis: Redis, call: FencedScriptCall) => Effect.Effect<unknown, RedisError | StaleFenceError> = fence.fencedScript
