/**
 * `concurrency: "auto"`: how many actions may run at once, found from the
 * actions' own latency (start to finish of each attempt, never the wait for
 * order). The engine reads `limit` where it would read `concurrency` and
 * reports each attempt's start and end; nothing here knows the engine.
 *
 * - Slow start (TCP; BBR's startup): from 20, one more per completion while
 *   the limit is in use, until a group of completions shows the median
 *   latency rising; the limit is then set by Little's law (throughput ×
 *   unloaded latency), since the samples lag the limit.
 * - Steady rounds (Netflix concurrency-limits' Gradient2): each round reads
 *   the median latency of a cohort of attempts; near the unloaded median the
 *   limit grows (faster each unloaded round), above it the limit is cut to
 *   `limit × TOLERANCE × unloaded / median`.
 * - The unloaded median is re-measured by running a round at half the limit
 *   (Envoy's periodic minimum-RTT re-measurement, with a median: with a
 *   log-normal service time, minimums are noise).
 *
 * docs/concurrency.md explains the behaviour and the measurements.
 *
 * @internal
 */

/** Where the limit may move, and who watches it. */
export interface LimitOptions {
  readonly min: number
  readonly max: number
  /** Told every new limit and when (ms): `Simulation` traces the limit with it. */
  readonly onChange?: ((limit: number, now: number) => void) | undefined
}

/** Where the limit starts (within the bounds): Netflix concurrency-limits' default initial limit. */
const INITIAL = 20
/** Completions a slow-start round reads its median from. */
const STARTUP_SAMPLES = 32
/**
 * Slow start ends after a round whose median exceeds the first round's by
 * `STARTUP_EXIT`, or two in a row above `STARTUP_SUSPECT`: one noisy round
 * does not end it, a queue that builds fast ends it at once.
 */
const STARTUP_EXIT = 1.5
const STARTUP_SUSPECT = 1.25
/** Fewest attempts in a steady round's cohort. */
const COHORT = 64
/** A round ends once this share of its cohort has ended: the slowest rest cannot lower its median. */
const COHORT_DONE = 0.9
/** Median latency, as a ratio to the unloaded one, above which the downstream queues. */
const TOLERANCE = 1.2
/** Growth of the first unloaded round after a loaded one; it doubles each unloaded round after, up to `MAX_STEP`. */
const FIRST_STEP = 1 / 16
const MAX_STEP = 1
/**
 * Every this many steady rounds, one runs at `DRAIN_GAIN` × the limit to
 * re-measure the unloaded latency; sooner after `CUTS_BEFORE_DRAIN` cuts in a
 * row (cutting did not bring the latency down: the baseline is stale), or
 * after a drain that found the baseline much lower (the drain itself may
 * still have queued).
 */
const DRAIN_EVERY = 16
const DRAIN_GAIN = 0.5
const CUTS_BEFORE_DRAIN = 3
const DRAIN_AGAIN = 0.8
/** An overload failure cuts the limit by this ratio, at most once per round. */
const OVERLOAD_CUT = 0.5

const STARTUP = 0
const STEADY = 1

/** @internal */
export class ConcurrencyLimit {
  /** How many attempts may run now: an integer in [min, max]. */
  limit = 0
  private estimate = 0
  private phase: typeof STARTUP | typeof STEADY = STARTUP
  private inFlight = 0
  private peakInFlight = 0
  /** Slow start: rounds in a row whose median was high. */
  private high = 0
  // A steady round measures a cohort: the next `cohortTarget` attempts started from `cohortStart` (ms).
  private cohortTarget = 0
  private cohortStart = Infinity
  private cohortEnd = Infinity
  private cohortSize = 0
  private cohortEnded = 0
  private readonly samples: Float64Array
  private count = 0
  private roundStartedAt = 0
  /** The unloaded median latency: the last drain round's median. */
  private baseline = Infinity
  /** Steady rounds until the next drain. */
  private untilDrain = DRAIN_EVERY
  private cuts = 0
  private draining = false
  private step = FIRST_STEP

  constructor(private readonly bounds: LimitOptions) {
    this.set(INITIAL, 0)
    this.samples = new Float64Array(2 * Math.max(COHORT, STARTUP_SAMPLES, bounds.max))
  }

  /** An attempt starts at `now` (ms). */
  started(now: number): void {
    if (++this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight
    if (now >= this.cohortStart && (this.cohortSize < this.cohortTarget || now === this.cohortEnd)) {
      if (++this.cohortSize === this.cohortTarget) this.cohortEnd = now
    }
  }

  /** An attempt that started at `startedAt` succeeded at `now` (ms). */
  finished(startedAt: number, now: number): void {
    const running = this.inFlight--
    if (this.phase === STARTUP) {
      // Slow start: one more per completion, doubling per round trip while the limit is in use.
      if (running * 2 >= this.limit) this.set(this.estimate + 1, now)
      this.samples[this.count++] = now - startedAt
      if (this.count === STARTUP_SAMPLES) this.endStartupRound(now)
    } else if (this.isMember(startedAt)) {
      if (this.count < this.samples.length) this.samples[this.count++] = now - startedAt
      this.memberEnded(now)
    }
  }

  /** An attempt ended with no latency to learn from: failed, or interrupted. An overload backs off. */
  dropped(startedAt: number, now: number, overload: boolean): void {
    this.inFlight--
    if (overload && (this.phase === STARTUP || startedAt >= this.cohortStart)) {
      this.phase = STEADY
      this.step = FIRST_STEP
      this.set(this.estimate * OVERLOAD_CUT, now)
      this.newRound(now)
    } else if (this.phase === STEADY && this.isMember(startedAt)) {
      this.memberEnded(now)
    }
  }

  private isMember(startedAt: number): boolean {
    return startedAt >= this.cohortStart && startedAt <= this.cohortEnd
  }

  private memberEnded(now: number): void {
    if (++this.cohortEnded >= this.cohortSize * COHORT_DONE && this.cohortSize >= this.cohortTarget) this.endRound(now)
  }

  private endStartupRound(now: number): void {
    const median = kthSmallest(this.samples, this.count, this.count >> 1)
    if (this.baseline === Infinity) this.baseline = median
    this.high = median > this.baseline * STARTUP_SUSPECT ? this.high + 1 : 0
    if (this.high === 2 || median > this.baseline * STARTUP_EXIT) {
      this.phase = STEADY
      // Little's law: the downstream serves `throughput × latency` at once. The samples lag the
      // limit, which has grown past that meanwhile.
      this.set(TOLERANCE * this.baseline * (this.high * STARTUP_SAMPLES) / (now - this.roundStartedAt), now)
      // The first baseline came from the earliest, shortest completions: measure it now.
      this.startDrain(now)
    } else if (this.estimate === this.bounds.max) {
      // Slow start reached the bound with no rise seen, which may mean the downstream queued from
      // the first round on (its baseline is then a loaded latency): measure it below the bound.
      this.phase = STEADY
      this.startDrain(now)
    }
    this.count = 0
    if (this.high !== 1) this.roundStartedAt = now
    if (this.phase === STEADY) this.newRound(now)
  }

  private endRound(now: number): void {
    const median = kthSmallest(this.samples, this.count, Math.min(this.count - 1, this.cohortSize >> 1))
    if (this.draining) {
      this.draining = false
      this.untilDrain = median < this.baseline * DRAIN_AGAIN ? 1 : DRAIN_EVERY
      this.baseline = median
      this.set(this.estimate / DRAIN_GAIN, now)
    } else {
      this.adjust(median, now)
      if (--this.untilDrain === 0 || this.cuts === CUTS_BEFORE_DRAIN) this.startDrain(now)
    }
    this.newRound(now)
  }

  private startDrain(now: number): void {
    this.draining = true
    this.cuts = 0
    this.set(this.estimate * DRAIN_GAIN, now)
  }

  /** Grows the limit while the median stays near the unloaded one, else cuts it to where it would be. */
  private adjust(median: number, now: number): void {
    if (median <= TOLERANCE * this.baseline) {
      // An app-limited round (fewer running than half the limit) says nothing about more.
      if (this.peakInFlight * 2 < this.limit) return
      this.set(this.estimate * (1 + this.step), now)
      this.step = Math.min(MAX_STEP, this.step * 2)
      this.cuts = 0
    } else {
      this.step = FIRST_STEP
      this.cuts++
      this.set(this.estimate * TOLERANCE * this.baseline / median, now)
    }
  }

  private set(estimate: number, now: number): void {
    this.estimate = Math.min(this.bounds.max, Math.max(this.bounds.min, estimate))
    const limit = Math.round(this.estimate)
    if (limit !== this.limit) {
      this.limit = limit
      this.bounds.onChange?.(limit, now)
    }
  }

  private newRound(now: number): void {
    this.roundStartedAt = now
    this.count = 0
    this.peakInFlight = this.inFlight
    this.cohortStart = now
    this.cohortEnd = Infinity
    this.cohortSize = 0
    this.cohortEnded = 0
    this.cohortTarget = Math.max(COHORT, this.limit)
  }
}

/** The `k`-th smallest of `values[0, n)` (from 0), found in place (quickselect): O(n), no allocation. */
const kthSmallest = (values: Float64Array, n: number, k: number): number => {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]
    let i = lo
    let j = hi
    while (i <= j) {
      while (values[i] < pivot) i++
      while (values[j] > pivot) j--
      if (i <= j) {
        const t = values[i]
        values[i++] = values[j]
        values[j--] = t
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return values[k]
}
