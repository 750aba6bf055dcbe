import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import type * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as runtime from "./runtime.ts"

/**
 * The metrics a named pipeline (`options.name`) or sequencer records, each
 * tagged `pipeline=<name>`. Durations in milliseconds on Effect's `Clock`.
 *
 * @internal
 */
const millis = MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 })

/** @internal */
export const inFlight = Metric.gauge("effect_ordered_in_flight", {
  description: "Actions running now"
})
/** @internal */
export const window = Metric.gauge("effect_ordered_window", {
  description: "Actions taken from upstream and not yet emitted"
})
/** @internal */
export const concurrencyLimit = Metric.gauge("effect_ordered_concurrency_limit", {
  description: "With concurrency: \"auto\": how many actions may run at once now"
})
/** @internal */
export const emitted = Metric.counter("effect_ordered_emitted", {
  description: "Results handed downstream",
  incremental: true
})
/** @internal */
export const failures = Metric.counter("effect_ordered_failures", {
  description: "Actions that failed (a typed failure, a defect or a timeout)",
  incremental: true
})
/** @internal */
export const actionDuration = Metric.histogram(
  "effect_ordered_action_duration_ms",
  millis,
  "How long each action ran, in milliseconds"
)
/** @internal */
export const emitDelay = Metric.histogram(
  "effect_ordered_emit_delay_ms",
  millis,
  "How long each result waited, from its action's end to its release in order, in milliseconds"
)
/** @internal */
export const sequencerBuffered = Metric.gauge("effect_ordered_sequencer_buffered", {
  description: "Values held, waiting for an earlier sequence"
})
/** @internal */
export const sequencerGaps = Metric.counter("effect_ordered_sequencer_gaps", {
  description: "Sequences skipped or failed after gapTimeout",
  incremental: true
})
/** @internal */
export const sequencerDuplicates = Metric.counter("effect_ordered_sequencer_duplicates", {
  description: "Offers refused as duplicates",
  incremental: true
})

/** What a named pipeline records. */
const PIPELINE_METRICS: ReadonlyArray<{ readonly unsafeValue: (tags: ReadonlyArray<MetricLabel.MetricLabel>) => unknown }> = [
  inFlight,
  window,
  emitted,
  failures,
  actionDuration,
  emitDelay
]

/** The span each action of a named pipeline runs in. */
export const ACTION_SPAN = "effect-ordered.action"

/** The one tag of a pipeline's metrics: a stable array, so that Effect finds the metric's hook in its cache. */
export const pipelineTags = (name: string): ReadonlyArray<MetricLabel.MetricLabel> => [
  MetricLabel.make("pipeline", name)
]

/**
 * What one named run of the engine records. The gauges are counted here and
 * brought to the registry by `flush`, which the engine calls whenever it
 * gives up the thread: an action that starts and ends within one step never
 * moves them, and a step of 256 instant actions costs two updates, not 512.
 *
 * @internal
 */
export class PipelineMetrics {
  private readonly tags: ReadonlyArray<MetricLabel.MetricLabel>
  private running = 0
  private taken = 0
  private reportedRunning = 0
  private reportedTaken = 0
  private readonly clock: Clock.Clock
  private readonly tracer: Tracer.Tracer | undefined
  private readonly parent: Option.Option<Tracer.AnySpan>
  private readonly timing: boolean

  private reportedLimit = 0

  /** `limiter`: with `concurrency: "auto"`, its `limit` is reported at each flush. */
  constructor(
    readonly name: string,
    fiber: runtime.RuntimeFiber<unknown, unknown>,
    clock: Clock.Clock,
    private readonly limiter: { readonly limit: number } | undefined
  ) {
    this.tags = pipelineTags(name)
    this.clock = clock
    // Every series exists from the start, at 0, so that a dashboard sees 0 rather than no series.
    for (const metric of PIPELINE_METRICS) metric.unsafeValue(this.tags)
    if (limiter !== undefined) this.flush()
    const tracing = runtime.tracingOf(fiber)
    this.tracer = tracing.tracer
    this.parent = Option.fromNullable(tracing.span)
    this.timing = tracing.timing
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  /** An action was taken into the window. */
  admitted(): void {
    this.taken++
  }

  /** An action starts: its span (none when tracing is off). */
  started(index: number, key: string | number | undefined): Tracer.Span | undefined {
    this.running++
    if (this.tracer === undefined) return undefined
    const span = this.tracer.span(ACTION_SPAN, this.parent, Context.empty(), [], this.nanos(), "internal")
    span.attribute("pipeline", this.name)
    span.attribute("index", index)
    if (key !== undefined) span.attribute("key", key)
    return span
  }

  /**
   * An action that started at `startedAt` ended at `now` (ms), with `cause`
   * if it failed, else with `output`.
   */
  ended(
    startedAt: number,
    now: number,
    span: Tracer.Span | undefined,
    cause: Cause.Cause<unknown> | undefined,
    output: unknown
  ): void {
    this.running--
    actionDuration.unsafeUpdate(now - startedAt, this.tags)
    if (cause !== undefined) failures.unsafeUpdate(1, this.tags)
    span?.end(this.nanos(), cause === undefined ? Exit.succeed(output) : Exit.failCause(cause))
  }

  /** An action was interrupted (a later one after a failure, or the run ended). */
  interrupted(span: Tracer.Span | undefined, by: FiberId.FiberId): void {
    this.running--
    span?.end(this.nanos(), Exit.interrupt(by))
  }

  /** A result, ready since `finishedAt`, was released in order. */
  released(finishedAt: number, now: number): void {
    emitDelay.unsafeUpdate(now - finishedAt, this.tags)
  }

  /** `count` results were handed downstream. */
  handed(count: number): void {
    this.taken -= count
    emitted.unsafeUpdate(count, this.tags)
  }

  /** Brings the gauges to the counts. */
  flush(): void {
    if (this.running !== this.reportedRunning) {
      inFlight.unsafeModify(this.running - this.reportedRunning, this.tags)
      this.reportedRunning = this.running
    }
    if (this.taken !== this.reportedTaken) {
      window.unsafeModify(this.taken - this.reportedTaken, this.tags)
      this.reportedTaken = this.taken
    }
    if (this.limiter !== undefined && this.limiter.limit !== this.reportedLimit) {
      concurrencyLimit.unsafeModify(this.limiter.limit - this.reportedLimit, this.tags)
      this.reportedLimit = this.limiter.limit
    }
  }

  /**
   * The run is over: the actions its workers still ran end as interrupted
   * by `by`, and what it still counted leaves the gauges.
   */
  close(workers: ReadonlyArray<{ readonly task: { readonly span: Tracer.Span | undefined } | undefined }>, by: FiberId.FiberId): void {
    for (const worker of workers) {
      if (worker.task !== undefined) this.interrupted(worker.task.span, by)
    }
    this.running = 0
    this.taken = 0
    this.flush()
    if (this.reportedLimit !== 0) concurrencyLimit.unsafeModify(-this.reportedLimit, this.tags)
  }

  private nanos(): bigint {
    return this.timing ? this.clock.unsafeCurrentTimeNanos() : BigInt(0)
  }
}

/**
 * What a named sequencer records. The buffered gauge moves by deltas, so that
 * several sequencers of one name add up.
 *
 * @internal
 */
export class SequencerMetrics {
  private readonly tags: ReadonlyArray<MetricLabel.MetricLabel>
  private reportedBuffered = 0

  constructor(name: string) {
    this.tags = pipelineTags(name)
  }

  buffered(count: number): void {
    sequencerBuffered.unsafeModify(count - this.reportedBuffered, this.tags)
    this.reportedBuffered = count
  }

  gap(): void {
    sequencerGaps.unsafeUpdate(1, this.tags)
  }

  duplicate(): void {
    sequencerDuplicates.unsafeUpdate(1, this.tags)
  }
}
