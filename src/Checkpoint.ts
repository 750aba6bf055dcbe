/**
 * Tracks completions that arrive in any order over an integer offset space
 * (a log's offsets: Kafka offsets, or a consumer's own numbering of the
 * entries it read) and tells what can be committed: the highest offset up to
 * which everything is complete, plus a compact encoding of the completed
 * offsets above it, so that a restart redoes only what was not completed.
 * The same discipline as Confluent's Parallel Consumer.
 *
 * A `Checkpoint` is an immutable value; `complete` returns a new one.
 *
 * @since 0.1.0
 */
import type * as Exit from "effect/Exit"
import type { CheckpointDecodeError } from "./errors.ts"
import * as internal from "./internal/checkpoint.ts"

/**
 * Completed offsets of a log from its start offset on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checkpoint {
  /**
   * The highest offset such that it and every offset below it (down to the
   * start offset) are completed; `start - 1` when the start offset is not.
   * Committing this offset is safe: nothing at or below it is redone.
   */
  readonly committed: number
  /** The completed offsets above `committed + 1`, ascending. */
  readonly above: ReadonlyArray<number>
}

/**
 * An empty checkpoint for offsets from `start` (default 0), an integer ≥ 0:
 * `committed` is `start - 1`. Throws `Cause.IllegalArgumentException` for
 * another `start`.
 *
 * @example
 * ```ts
 * import { Checkpoint } from "effect-ordered"
 *
 * console.log(Checkpoint.make(100).committed)
 * // 99
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (start?: number) => Checkpoint = internal.make

/**
 * Records that `offset` (a safe integer) completed. Completing an offset at
 * or below `committed`, or one already completed, returns the checkpoint
 * unchanged. Cost: O(log n) to find the place plus a copy of the offsets
 * above `committed` (n: completed offsets above `committed`).
 *
 * @example
 * ```ts
 * import { Checkpoint } from "effect-ordered"
 *
 * const c = Checkpoint.complete(Checkpoint.make(), 3) // offset 0 is still running
 * console.log(c.committed, c.above)
 * // -1 [ 3 ]
 * const d = [0, 1, 2].reduce(Checkpoint.complete, c)
 * console.log(d.committed, d.above)
 * // 3 []
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const complete: {
  (offset: number): (self: Checkpoint) => Checkpoint
  (self: Checkpoint, offset: number): Checkpoint
} = internal.complete

/**
 * Whether `offset` completed (at or below `committed`, or in `above`).
 *
 * @example
 * ```ts
 * import { Checkpoint } from "effect-ordered"
 *
 * const c = Checkpoint.complete(Checkpoint.make(), 2)
 * console.log(Checkpoint.isCompleted(c, 2), Checkpoint.isCompleted(c, 0))
 * // true false
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const isCompleted: {
  (offset: number): (self: Checkpoint) => boolean
  (self: Checkpoint, offset: number): boolean
} = internal.isCompleted

/**
 * Encodes a checkpoint as a short string to store next to the committed
 * offset (e.g. in Kafka commit metadata): `"<committed>"` when nothing above
 * it completed, otherwise `"<committed>:<bitset>"` where the bitset is
 * base64url (no padding) and bit `i` (byte `i >> 3`, least significant bit
 * first) stands for offset `committed + 2 + i`. A window of 1000 offsets
 * takes at most 168 characters.
 *
 * @example
 * ```ts
 * import { Checkpoint } from "effect-ordered"
 *
 * const c = [0, 1, 3, 4, 9].reduce(Checkpoint.complete, Checkpoint.make())
 * // committed 1; 3, 4 and 9 completed above it
 * console.log(Checkpoint.encode(c))
 * // 1:Qw
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (self: Checkpoint) => string = internal.encode

/**
 * Decodes the output of {@link encode}: an `Exit` (an Effect on either Effect line) that fails with
 * {@link CheckpointDecodeError} for anything else, including another
 * spelling of a checkpoint (`"007"`, `"3:"`, a committed offset below -1).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Checkpoint } from "effect-ordered"
 *
 * const c = Effect.runSync(Checkpoint.decode("1:Qw"))
 * console.log(c.committed, c.above)
 * // 1 [ 3, 4, 9 ]
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode: (encoded: string) => Exit.Exit<Checkpoint, CheckpointDecodeError> = internal.decode

export {
  /**
   * A string given to {@link decode} is not an encoded checkpoint (carries
   * the `input` and the `reason`). Defined in the leaf module `errors.ts`,
   * so that the internal checkpoint code and this facade import it without
   * a cycle.
   *
   * @since 0.1.0
   * @category errors
   */
  CheckpointDecodeError
} from "./errors.ts"
