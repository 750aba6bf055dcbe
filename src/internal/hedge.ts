import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ActionTimeoutError } from "../errors.ts"
import { Alarm } from "./alarm.ts"
import { Fifo } from "./fifo.ts"
import { Heap } from "./heap.ts"
import type { Ordering } from "./ordering.ts"
import * as runtime from "./runtime.ts"
import { RUNNING, type Task } from "./task.ts"
import * as V from "./validate.ts"

/**
 * Hedging the head of the order ("The Tail at Scale", Dean and Barroso,
 * 2013): when the action that everything behind it waits for has run longer
 * than a threshold, a second copy of it starts and the first to succeed wins.
 * All of hedging is in this file: the policy (a fixed delay, or a quantile of
 * the durations observed in the run) and the `Hedger`, which watches the
 * heads, asks for copies, says how a copy runs and which attempt's end
 * decides the action. The engine only gives a copy a worker, and stops the
 * worker of a losing attempt when the `Hedger` says so.
 *
 * @internal
 */

/** Which attempt of an action runs: 1, or 2 for a hedged copy. @internal */
export const currentAttempt: runtime.Local<number> = runtime.makeLocal("effect-ordered/currentAttempt", 1)

/** @internal */
export type HedgePolicy =
  | { readonly _tag: "After"; readonly millis: number }
  | { readonly _tag: "Quantile"; readonly quantile: number; readonly minSamples: number }

/** With `quantile`, nothing is hedged before this many actions have completed. @internal */
export const DEFAULT_MIN_SAMPLES = 100

/** @internal */
export const resolveHedge = (value: unknown, path = "options.hedge"): HedgePolicy | undefined => {
  if (value === undefined) return undefined
  const hedge = V.record(path, value)
  if (hedge.after !== undefined && hedge.quantile !== undefined) {
    throw V.invalid(path, "one of { after } or { quantile, minSamples? }, not both", value)
  }
  if (hedge.after !== undefined) {
    if (hedge.minSamples !== undefined) {
      throw V.comesWith(`${path}.minSamples`, hedge.minSamples, `${path}.quantile`)
    }
    return { _tag: "After", millis: Duration.toMillis(V.positiveDuration(`${path}.after`, hedge.after)) }
  }
  if (hedge.quantile === undefined) {
    throw V.invalid(path, "{ after: Duration } or { quantile: number, minSamples?: number }", value)
  }
  return {
    _tag: "Quantile",
    quantile: V.finiteNumberBetween(
      `${path}.quantile`,
      hedge.quantile,
      Number.MIN_VALUE,
      1 - Number.EPSILON / 2,
      "a number between 0 and 1 (both excluded)"
    ),
    minSamples: V.optionalIntegerAtLeast(`${path}.minSamples`, hedge.minSamples, 1) ?? DEFAULT_MIN_SAMPLES
  }
}

/**
 * Durations observed in a run, in logarithmic buckets 2% wide from 1 µs to
 * about 3 hours: memory stays flat however long the run, and a quantile is
 * read to within 2% (rounded up: a threshold never below the true one).
 */
class DurationHistogram {
  private static readonly FLOOR = 0.001
  private static readonly GROWTH = Math.log(1.02)
  private readonly buckets = new Float64Array(1200)
  count = 0

  record(millis: number): void {
    const at = millis <= DurationHistogram.FLOOR
      ? 0
      : Math.min(this.buckets.length - 1, 1 + Math.floor(Math.log(millis / DurationHistogram.FLOOR) / DurationHistogram.GROWTH))
    this.buckets[at]++
    this.count++
  }

  /** The `q`-quantile (nearest rank), as its bucket's upper bound. */
  quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let at = 0; at < this.buckets.length; at++) {
      seen += this.buckets[at]
      if (seen >= rank) return DurationHistogram.FLOOR * Math.exp(at * DurationHistogram.GROWTH)
    }
    return Infinity
  }
}

/** How often, in samples, a quantile threshold is read again from the histogram. */
const REREAD_EVERY = 32

/** The hedged copy of an action, and what its first failure left (`Task.copy`). @internal */
export interface Copy {
  /** Attempts of the action running now, or about to (the copy, while it waits for a worker). */
  live: number
  /** The first attempt to fail, while the other may still succeed. */
  failure: Cause.Cause<unknown> | undefined
}

/** What the `Hedger` needs of the engine. @internal */
export interface HedgeHost<A, B, R> {
  /** Only actions below this index may still start (a failure cut the others off). */
  readonly startLimit: number
  /** Workers for the work that waits (a copy); `undefined` when none can be had now. */
  recruit(): Effect.Effect<void, never, R> | undefined
  /** Interrupts the worker, other than `winner`, running an attempt of `task`, and waits for it to end. */
  stopOtherAttempt(task: Task<A, B>, winner: unknown): Effect.Effect<void> | undefined
}

/**
 * Hedging in one run: one fiber (`loop`), asleep until the earliest head
 * becomes overdue, woken early when a head that is due sooner appears or
 * when a quantile threshold becomes known; the copies waiting for a worker;
 * and, for each hedged action, its two attempts' state (`Task.copy`).
 *
 * @internal
 */
export class Hedger<A, B, R> {
  /** Heads running their first attempt alone, earliest start first. */
  private readonly heads = new Heap<Task<A, B>>((a, b) => a.startedAt < b.startedAt)
  /** Hedged actions whose copy waits for a worker, ahead of new actions. */
  private readonly copies = new Fifo<Task<A, B>>()
  private readonly histogram: DurationHistogram | undefined
  private thresholdMillis: number | undefined
  private sinceReread = 0
  /** Wakes the fiber for a head that is due sooner than it sleeps. */
  private readonly alarm = new Alarm()

  constructor(
    private readonly policy: HedgePolicy,
    private readonly clock: runtime.ClockReader,
    private readonly ordering: Ordering<A, B>,
    private readonly host: HedgeHost<A, B, R>
  ) {
    this.histogram = policy._tag === "Quantile" ? new DurationHistogram() : undefined
    this.thresholdMillis = policy._tag === "After" ? policy.millis : undefined
  }

  /** Copies waiting for a worker. */
  get waiting(): number {
    return this.copies.length
  }

  // ------------------------------------------------------------ the heads

  /** `task`'s first attempt went through the runtime (it did not complete at once): watched if it is a head. */
  started(task: Task<A, B>): void {
    if (this.ordering.isHead(task)) this.watch(task)
  }

  /** The order now waits for `head`: watched if it runs its first attempt alone. */
  becameHead(head: Task<A, B>): void {
    if (head.state === RUNNING && head.copy === undefined) this.watch(head)
  }

  private watch(task: Task<A, B>): void {
    this.heads.push(task)
    if (this.thresholdMillis !== undefined) this.alarm.wake(task.startedAt + this.thresholdMillis)
  }

  /** Whether a watched head is still worth a copy. */
  private eligible(task: Task<A, B>): boolean {
    return task.state === RUNNING && task.copy === undefined && task.index < this.host.startLimit
  }

  /** An action of the run completed after `millis`: a sample for a quantile threshold. */
  record(millis: number): void {
    const histogram = this.histogram
    if (histogram === undefined) return
    histogram.record(millis)
    const policy = this.policy as Extract<HedgePolicy, { _tag: "Quantile" }>
    if (histogram.count < policy.minSamples || ++this.sinceReread < REREAD_EVERY && this.thresholdMillis !== undefined) {
      return
    }
    this.sinceReread = 0
    this.thresholdMillis = histogram.quantile(policy.quantile)
    const first = this.heads.peek()
    // Poked as an action's end is filed: run at once (effect 4), the fiber would hedge an action whose first attempt
    // just succeeded, its copy running on past it (`Alarm`).
    if (first !== undefined) this.alarm.wake(first.startedAt + this.thresholdMillis)
  }

  /** The watching fiber: hedges each head once it is overdue; runs until interrupted. */
  readonly loop: Effect.Effect<never, never, R> = Effect.suspend((): Effect.Effect<never, never, R> => {
    const heads = this.heads
    while (heads.length > 0 && !this.eligible(heads.peek()!)) heads.pop()
    const threshold = this.thresholdMillis
    const head = heads.peek()
    const due = head === undefined || threshold === undefined ? Infinity : head.startedAt + threshold
    const now = this.clock.millis()
    // Within a nanosecond: a clock in fractional milliseconds may land a hair short of `due`.
    if (due - now < 1e-6) {
      heads.pop()
      return runtime.zipRight(this.hedge(head!), this.loop)
    }
    return runtime.zipRight(this.alarm.sleepUntil(due, now), this.loop)
  })

  // ----------------------------------------------------------- the copies

  /** `task` is overdue: its copy waits for a worker, ahead of new actions. */
  private hedge(task: Task<A, B>): Effect.Effect<void, never, R> {
    task.copy = { live: 2, failure: undefined }
    this.copies.push(task)
    return this.host.recruit() ?? Effect.void
  }

  /** The next copy to start, skipping actions decided (or cut off by a failure) meanwhile. */
  takeCopy(): Task<A, B> | undefined {
    let task = this.copies.shift()
    while (task !== undefined && (task.state !== RUNNING || task.index >= this.host.startLimit)) task = this.copies.shift()
    return task
  }

  /** The copy runs as attempt 2 (`Ordered.currentAttempt`). */
  asCopy(action: Effect.Effect<B, unknown, R>): Effect.Effect<B, unknown, R> {
    return currentAttempt.locally(action, 2)
  }

  // ------------------------------------------------------------ decisions

  /**
   * An attempt of hedged `task`, run by `worker`, ended: with `cause` if it
   * failed. A success, or a timeout (which covers both attempts), decides the
   * action while the other attempt may be on: that one is stopped first (the
   * effect returned), so that the action's result is filed, and its key
   * freed, only once the other attempt's finalizers have run and its worker
   * no longer counts against `concurrency`. A copy still waiting for a
   * worker is simply dropped (`takeCopy` skips it).
   */
  stopLoser(task: Task<A, B>, worker: unknown, cause: Cause.Cause<unknown> | undefined): Effect.Effect<void> | undefined {
    const copy = task.copy!
    if (copy.live < 2 || (cause !== undefined && !isTimeoutOf(task, cause))) return undefined
    copy.live--
    return this.host.stopOtherAttempt(task, worker)
  }

  /**
   * An attempt of hedged `task` ended, with `cause` if it failed: the
   * action's final failure, or `undefined` when it is not final (the other
   * attempt may still succeed, or it succeeded). The action fails only if
   * both attempts fail, with both causes.
   */
  attemptEnded(task: Task<A, B>, cause: Cause.Cause<unknown> | undefined): Cause.Cause<unknown> | undefined {
    const copy = task.copy!
    copy.live--
    if (cause === undefined) return undefined
    if (copy.live > 0) {
      copy.failure = cause
      return undefined
    }
    return copy.failure === undefined ? cause : runtime.sequential(copy.failure, cause)
  }
}

/** Whether `cause` is `task`'s own timeout (which covers both attempts, and is an overload for the limiter). */
export const isTimeoutOf = (task: Task<unknown, unknown>, cause: Cause.Cause<unknown>): boolean => {
  const failure = runtime.failureOption(cause)
  return failure._tag === "Some" && failure.value instanceof ActionTimeoutError && failure.value.index === task.index
}
