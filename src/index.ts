/**
 * effect-ordered: run costly Effect actions concurrently and release their
 * results, and their side effects, in order.
 *
 * @since 0.1.0
 */

/**
 * Concurrent operators that emit in order: `mapEffect` (streams) and
 * `forEach` (iterables).
 *
 * @since 0.1.0
 */
export * as Ordered from "./Ordered.ts"

export {
  /**
   * The typed error of an action that ran longer than `options.timeout`
   * (carries its `index` and the `timeout`).
   *
   * @since 0.1.0
   * @category errors
   */
  ActionTimeoutError
} from "./errors.ts"

/**
 * Simulated runs in virtual time: what ordering costs, what the window buys,
 * and deterministic throughput tests of a pipeline.
 *
 * @since 0.1.0
 */
export * as Simulation from "./Simulation.ts"

/**
 * Completions in any order over a log's offsets: the highest contiguous
 * completed offset and a compact encoding of the completed ones above it.
 *
 * @since 0.1.0
 */
export * as Checkpoint from "./Checkpoint.ts"

/**
 * Reassembly of client-numbered actions: per key, values offered out of
 * order (or twice) are released in sequence order, exactly once, giving up
 * on a missing sequence after a timeout.
 *
 * @since 0.1.0
 */
export * as Sequencer from "./Sequencer.ts"
