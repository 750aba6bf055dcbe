/**
 * Metrics of the Kafka consumer.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import type { Counter } from "../internal/runtime.ts"

/**
 * Counts records skipped because the commit metadata of their partition
 * said they were done (above the committed offset): work a restart or a new
 * owner did not redo.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { skippedRecords } from "effect-ordered/kafka"
 *
 * const report = Effect.map(Metric.value(skippedRecords), ({ count }) => `${count} records skipped`)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const skippedRecords: Counter = Metric.counter("effect_ordered_kafka_skipped_records", {
  description: "Records skipped because the commit metadata marked them done"
})
