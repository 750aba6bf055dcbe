import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as V from "./validate.ts"

/**
 * Hedging the head of the order ("The Tail at Scale", Dean and Barroso,
 * 2013): when the action that everything behind it waits for has run longer
 * than a threshold, a second copy of it starts and the first to succeed wins.
 * This module holds the policy (a fixed delay, or a quantile of the durations
 * observed in the run) and `HeadWatch`, the one fiber that waits for heads to
 * become overdue. The engine decides what a head is and runs the copies.
 *
 * @internal
 */

/** Which attempt of an action runs: 1, or 2 for a hedged copy. @internal */
export const currentAttempt: FiberRef.FiberRef<number> = FiberRef.unsafeMake(1)

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

/** A head that may be hedged once it has run longer than the threshold. @internal */
export interface Candidate {
  /** When its first attempt started (Clock milliseconds). */
  readonly startedAt: number
}

/**
 * Watches the heads of the order: one fiber, asleep until the earliest head
 * becomes overdue, woken early when a head that is due sooner appears or
 * when a quantile threshold becomes known. The engine pushes heads as they
 * start or become heads, and says which are still worth a copy.
 *
 * @internal
 */
export class HeadWatch<C extends Candidate, R> {
  private readonly heap: Array<C> = []
  private readonly histogram: DurationHistogram | undefined
  private thresholdMillis: number | undefined
  private sinceReread = 0
  /** When the fiber wakes up by itself; `Infinity` while it waits for a push. */
  private sleepingUntil = Infinity
  private poke: ((effect: Effect.Effect<void>) => void) | undefined
  private readonly clock: Clock.Clock

  constructor(
    private readonly policy: HedgePolicy,
    clock: Clock.Clock,
    /** Whether a candidate still runs its first attempt alone. */
    private readonly eligible: (candidate: C) => boolean,
    /** Asks for a copy of an overdue candidate; the effect recruits a worker for it. */
    private readonly hedge: (candidate: C) => Effect.Effect<void, never, R>
  ) {
    this.clock = clock
    this.histogram = policy._tag === "Quantile" ? new DurationHistogram() : undefined
    this.thresholdMillis = policy._tag === "After" ? policy.millis : undefined
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
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
    if (this.heap.length > 0) this.wake(this.heap[0].startedAt + this.thresholdMillis)
  }

  /** A head runs its first attempt. */
  push(candidate: C): void {
    const heap = this.heap
    let i = heap.push(candidate) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].startedAt <= heap[i].startedAt) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
    if (this.thresholdMillis !== undefined) this.wake(candidate.startedAt + this.thresholdMillis)
  }

  private wake(due: number): void {
    if (due >= this.sleepingUntil || this.poke === undefined) return
    const poke = this.poke
    this.poke = undefined
    poke(Effect.void)
  }

  private pop(): void {
    const heap = this.heap
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    for (let i = 0;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && heap[l].startedAt < heap[m].startedAt) m = l
      if (r < heap.length && heap[r].startedAt < heap[m].startedAt) m = r
      if (m === i) return
      ;[heap[i], heap[m]] = [heap[m], heap[i]]
      i = m
    }
  }

  private readonly poked: Effect.Effect<void> = Effect.async<void>((resume) => {
    this.poke = resume
    return Effect.sync(() => {
      this.poke = undefined
    })
  })

  /** The fiber's loop: hedges each head once it is overdue; runs until interrupted. */
  readonly loop: Effect.Effect<never, never, R> = Effect.suspend((): Effect.Effect<never, never, R> => {
    const heap = this.heap
    while (heap.length > 0 && !this.eligible(heap[0])) this.pop()
    const threshold = this.thresholdMillis
    if (heap.length === 0 || threshold === undefined) {
      this.sleepingUntil = Infinity
      return Effect.zipRight(this.poked, this.loop)
    }
    const head = heap[0]
    const due = head.startedAt + threshold
    const now = this.now()
    // Within a nanosecond: a clock in fractional milliseconds may land a hair short of `due`.
    if (due - now < 1e-6) {
      this.pop()
      return Effect.zipRight(this.hedge(head), this.loop)
    }
    this.sleepingUntil = due
    return Effect.zipRight(Effect.raceFirst(Effect.sleep(due - now), this.poked), this.loop)
  })
}
