import type * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as runtime from "./runtime.ts"

/**
 * The metrics a named pipeline (`options.name`) or sequencer records, each
 * tagged `pipeline=<name>`. Durations in milliseconds on Effect's `Clock`.
 *
 * @internal
 */
const millis = { start: 1, factor: 2, count: 16 }

/** @internal */
export const inFlight = runtime.gauge("effect_ordered_in_flight", "Actions running now")
/** @internal */
export const window = runtime.gauge("effect_ordered_window", "Actions taken from upstream and not yet emitted")
/** @internal */
export const concurrencyLimit = runtime.gauge("effect_ordered_concurrency_limit", "With concurrency: \"auto\": how many actions may run at once now")
/** @internal */
export const emitted = runtime.counter("effect_ordered_emitted", "Results handed downstream")
/** @internal */
export const failures = runtime.counter("effect_ordered_failures", "Actions that failed (a typed failure, a defect or a timeout)")
/** @internal */
export const actionDuration = runtime.exponentialHistogram(
  "effect_ordered_action_duration_ms",
  millis,
  "How long each action ran, in milliseconds"
)
/** @internal */
export const emitDelay = runtime.exponentialHistogram(
  "effect_ordered_emit_delay_ms",
  millis,
  "How long each result waited, from its action's end to its release in order, in milliseconds"
)
/** @internal */
export const sequencerBuffered = runtime.gauge("effect_ordered_sequencer_buffered", "Values held, waiting for an earlier sequence")
/** @internal */
export const sequencerGaps = runtime.counter("effect_ordered_sequencer_gaps", "Sequences skipped or failed after gapTimeout")
/** @internal */
export const sequencerDuplicates = runtime.counter("effect_ordered_sequencer_duplicates", "Offers refused as duplicates")


/** The span each action of a named pipeline runs in. */
export const ACTION_SPAN = "effect-ordered.action"


/**
 * What one named run of the engine records. The gauges, the emitted count
 * and the observations of 0 ms are counted here and brought to the registry
 * by `flush`: an action that starts and ends between two flushes never moves
 * the gauges, and 256 instant actions cost a few updates, not 512 histogram
 * updates and 256 counter updates. The series a run makes flush every run
 * of their name going on as they are read (`Metric.value`, `Metric.snapshot`,
 * an exporter), so that a run whose series are all its own flushes only then
 * and as it ends; one that found a series made elsewhere first flushes
 * whenever the engine gives up the thread (`yielding`). Other durations go
 * to the histograms as they are observed.
 *
 * @internal
 */
export class PipelineMetrics {
  private readonly inFlight: runtime.Series
  private readonly window: runtime.Series
  private readonly emitted: runtime.Series
  private readonly failures: runtime.Series
  private readonly actionDuration: runtime.HistogramSeries
  private readonly emitDelay: runtime.HistogramSeries
  /** With `concurrency: "auto"` only: a series looked up may exist from then on (`runtime.seriesOf`). */
  private readonly concurrencyLimit: runtime.Series | undefined
  private running = 0
  private taken = 0
  private reportedRunning = 0
  private reportedTaken = 0
  /** Handed downstream since the last `flush`. */
  private unreported = 0
  /** Actions that ran 0 ms, and results that waited 0 ms, since the last `flush`. */
  private instantRuns = 0
  private instantWaits = 0
  private readonly clock: runtime.ClockReader
  private readonly tracer: Tracer.Tracer | undefined
  /** Whether each action gets a span (tracing on where the run started). */
  readonly tracing: boolean
  private readonly parent: Option.Option<Tracer.AnySpan>
  private readonly timing: boolean

  private reportedLimit = 0
  /** Every series reads through `flushLive`: the counts reach them as they are read. */
  private readonly flushedOnRead: boolean

  /** `limiter`: with `concurrency: "auto"`, its `limit` is reported at each flush. */
  constructor(
    readonly name: string,
    fiber: runtime.RuntimeFiber<unknown, unknown>,
    clock: runtime.ClockReader,
    private readonly limiter: { readonly limit: number } | undefined
  ) {
    const beforeRead = () => flushLive(name)
    this.inFlight = runtime.seriesOf(inFlight, name, fiber, beforeRead)
    this.window = runtime.seriesOf(window, name, fiber, beforeRead)
    this.emitted = runtime.seriesOf(emitted, name, fiber, beforeRead)
    this.failures = runtime.seriesOf(failures, name, fiber, beforeRead)
    this.actionDuration = runtime.histogramSeriesOf(actionDuration, name, fiber, beforeRead)
    this.emitDelay = runtime.histogramSeriesOf(emitDelay, name, fiber, beforeRead)
    this.concurrencyLimit = limiter === undefined ? undefined : runtime.seriesOf(concurrencyLimit, name, fiber, beforeRead)
    this.clock = clock
    const series = [this.inFlight, this.window, this.emitted, this.failures]
    // Every series exists from the start, at 0, so that a dashboard sees 0 rather than no series (the histograms' from their lookup).
    for (const one of series) one.touch()
    this.flushedOnRead = [...series, this.actionDuration, this.emitDelay, this.concurrencyLimit].every((one) =>
      one === undefined || one.readsRunBeforeRead
    )
    if (this.flushedOnRead) liveRuns(name).add(this)
    if (limiter !== undefined) this.flush()
    const tracing = runtime.tracingOf(fiber)
    this.tracer = tracing.tracer
    this.tracing = tracing.tracer !== undefined
    this.parent = runtime.fromNullable(tracing.span)
    this.timing = tracing.timing
  }

  now(): number {
    return this.clock.millis()
  }

  /** An action was taken into the window. */
  admitted(): void {
    this.taken++
  }

  /** An action starts: its span (none when tracing is off). */
  started(index: number, key: string | number | undefined): Tracer.Span | undefined {
    this.running++
    if (this.tracer === undefined) return undefined
    const span = runtime.startSpan(this.tracer, ACTION_SPAN, this.parent, this.nanos())
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
    const ran = now - startedAt
    if (ran === 0) this.instantRuns++
    else this.actionDuration.update(ran)
    if (cause !== undefined) this.failures.update(1)
    span?.end(this.nanos(), cause === undefined ? Exit.succeed(output) : Exit.failCause(cause))
  }

  /**
   * An action taken into the window succeeded at once and left in order
   * within the same step (the engine's direct path, no span): it ran for 0 ms
   * and waited 0 ms, as the step reads the clock once.
   */
  instant(): void {
    this.taken++
    this.instantRuns++
    this.instantWaits++
  }

  /** An action was interrupted (a later one after a failure, or the run ended). */
  interrupted(span: Tracer.Span | undefined, by: runtime.InterruptorId): void {
    this.running--
    span?.end(this.nanos(), Exit.interrupt(by))
  }

  /** A result, ready since `finishedAt`, was released in order. */
  released(finishedAt: number, now: number): void {
    const waited = now - finishedAt
    if (waited === 0) this.instantWaits++
    else this.emitDelay.update(waited)
  }

  /** `count` results were handed downstream. */
  handed(count: number): void {
    this.taken -= count
    this.unreported += count
  }

  /** The engine gives up the thread: the series are brought to the counts now, unless they are as they are read. */
  yielding(): void {
    if (!this.flushedOnRead) this.flush()
  }

  /** Brings the gauges, the emitted count and the histograms to the counts. */
  flush(): void {
    if (this.unreported !== 0) {
      this.emitted.update(this.unreported)
      this.unreported = 0
    }
    if (this.instantRuns !== 0) {
      this.actionDuration.updateZeros(this.instantRuns)
      this.instantRuns = 0
    }
    if (this.instantWaits !== 0) {
      this.emitDelay.updateZeros(this.instantWaits)
      this.instantWaits = 0
    }
    if (this.running !== this.reportedRunning) {
      this.inFlight.modify(this.running - this.reportedRunning)
      this.reportedRunning = this.running
    }
    if (this.taken !== this.reportedTaken) {
      this.window.modify(this.taken - this.reportedTaken)
      this.reportedTaken = this.taken
    }
    if (this.limiter !== undefined && this.limiter.limit !== this.reportedLimit) {
      this.concurrencyLimit!.modify(this.limiter.limit - this.reportedLimit)
      this.reportedLimit = this.limiter.limit
    }
  }

  /**
   * The run is over: the actions its workers still ran end as interrupted
   * by `by`, and what it still counted leaves the gauges.
   */
  close(workers: ReadonlyArray<{ readonly task: { readonly span: Tracer.Span | undefined } | undefined }>, by: runtime.InterruptorId): void {
    for (const worker of workers) {
      if (worker.task !== undefined) this.interrupted(worker.task.span, by)
    }
    this.running = 0
    this.taken = 0
    this.flush()
    const runs = live.get(this.name)
    if (runs?.delete(this) && runs.size === 0) live.delete(this.name)
    if (this.reportedLimit !== 0) this.concurrencyLimit!.modify(-this.reportedLimit)
  }

  private nanos(): bigint {
    return this.timing ? this.clock.nanos() : BigInt(0)
  }
}

/** The named runs going on whose series are all read through `flushLive`, by name. */
const live = new Map<string, Set<PipelineMetrics>>()

const liveRuns = (name: string): Set<PipelineMetrics> => {
  let runs = live.get(name)
  if (runs === undefined) live.set(name, runs = new Set())
  return runs
}

/** Before any read of a series of `name` that a run made: every run of that name going on brings its series to its counts. */
const flushLive = (name: string): void => {
  const runs = live.get(name)
  if (runs !== undefined) for (const metrics of runs) metrics.flush()
}

/**
 * What a named sequencer records. The buffered gauge moves by deltas, so that
 * several sequencers of one name add up.
 *
 * @internal
 */
export class SequencerMetrics {
  private readonly buffers: runtime.Series
  private readonly gaps: runtime.Series
  private readonly duplicates: runtime.Series
  private reportedBuffered = 0

  constructor(name: string, fiber: runtime.RuntimeFiber<unknown, unknown> | undefined) {
    this.buffers = runtime.seriesOf(sequencerBuffered, name, fiber)
    this.gaps = runtime.seriesOf(sequencerGaps, name, fiber)
    this.duplicates = runtime.seriesOf(sequencerDuplicates, name, fiber)
  }

  buffered(count: number): void {
    this.buffers.modify(count - this.reportedBuffered)
    this.reportedBuffered = count
  }

  gap(): void {
    this.gaps.update(1)
  }

  duplicate(): void {
    this.duplicates.update(1)
  }
}
