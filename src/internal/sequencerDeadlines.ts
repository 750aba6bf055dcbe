import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Fifo } from "./fifo.ts"
import * as runtime from "./runtime.ts"

/**
 * A FIFO of deadlines that only grow, with a fiber that sleeps until the
 * earliest one and settles what is due.
 */
class Timer<T> {
  readonly items = new Fifo<T>()
  private readonly times = new Fifo<number>()
  private parked: (() => void) | undefined

  /**
   * `deadline(since, now)`: when an item pushed at `since` is due, as seen at
   * `now`; it must grow with `since`, so the head is always due first.
   */
  constructor(
    readonly millis: number,
    private readonly deadline: (since: number, now: number) => number = (since) => since + millis
  ) {}

  push(item: T, since: number): void {
    this.items.push(item)
    this.times.push(since)
    const parked = this.parked
    if (parked !== undefined) {
      this.parked = undefined
      parked()
    }
  }

  /** Removes and returns the head if its deadline is at or before `now`. */
  shiftDue(now: number): T | undefined {
    const since = this.times.peek()
    if (since === undefined || this.deadline(since, now) > now) return undefined
    this.times.shift()
    return this.items.shift()
  }

  /** Rebuilds the FIFO without the items `live` rejects, once they are most of it. */
  compact(liveCount: number, live: (item: T, since: number) => boolean): void {
    if (this.items.length <= 2 * liveCount + 1024) return
    const n = this.items.length
    for (let i = 0; i < n; i++) {
      const item = this.items.shift()!
      const since = this.times.shift()!
      if (live(item, since)) {
        this.items.push(item)
        this.times.push(since)
      }
    }
  }

  clear(): void {
    this.items.clear()
    this.times.clear()
  }

  /** Forever: sleep until the head's deadline (or until something is pushed), then `settle`. */
  run(clock: runtime.ClockReader, settle: (now: number) => void): Effect.Effect<never> {
    const park = runtime.async<void>((resume) => {
      this.parked = () => resume(Effect.void)
      return Effect.sync(() => {
        this.parked = undefined
      })
    })
    const settleNow = Effect.sync(() => settle(clock.millis()))
    return Effect.forever(Effect.suspend(() => {
      const since = this.times.peek()
      if (since === undefined) return park
      const now = clock.millis()
      const wait = this.deadline(since, now) - now
      return wait > 0 ? runtime.zipRight(clock.sleep(Duration.millis(wait)), settleNow) : settleNow
    }))
  }
}



/** What the deadlines act on: the sequencer, through a narrow view. @internal */
export interface Timed<E, S> {
  /** Whether the sequencer stopped: no more gaps are given up. */
  readonly stopped: boolean
  /** `entry`'s gap deadline passed: give up the holes before it, if it is still buffered. */
  gapDue(entry: E): void
  /** `state`'s idle deadline passed at `now`: forget the key if it has been idle for `timeout` ms since. */
  idleDue(state: S, now: number, timeout: number): void
}

/**
 * The sequencer's two deadlines: each buffered value's gap deadline
 * (`gapTimeout`, `maxGapWait`) and each idle key's (`idleKeyTimeout`), with
 * what moves the gap deadlines: the last sign of a backlog (an offer filling
 * a hole, or the last suspended offer or held value leaving).
 *
 * A buffered value is due `gapTimeout` after the later of its acceptance
 * and the last sign of a backlog (while offers are suspended or values
 * held: from now), and at most `maxGapWait` after its acceptance.
 *
 * @internal
 */
export class Deadlines<E, S> {
  private readonly gapTimer: Timer<E> | undefined
  private readonly idleTimer: Timer<S> | undefined
  /** Clock time of the last offer that filled a hole, or at which the last suspended offer was placed. */
  private lastBacklogSign = -Infinity
  /** Offers suspended on full keys, all keys together. */
  private blockedOffers = 0
  /** Released values the consumer took but has not finished with (`holdGaps`). */
  private held = 0

  constructor(
    private readonly clock: runtime.ClockReader,
    options: {
      readonly gapTimeout: Duration.Duration | undefined
      readonly maxGapWait: Duration.Duration | undefined
      readonly idleKeyTimeout: Duration.Duration | undefined
    },
    private readonly host: Timed<E, S>
  ) {
    if (options.gapTimeout !== undefined) {
      const millis = Duration.toMillis(options.gapTimeout)
      const maxMillis = Duration.toMillis(options.maxGapWait!)
      this.gapTimer = new Timer(millis, (since, now) => {
        const caughtUp = this.blockedOffers + this.held > 0 ? now : Math.max(since, this.lastBacklogSign)
        return Math.min(since + maxMillis, caughtUp + millis)
      })
    }
    if (options.idleKeyTimeout !== undefined) this.idleTimer = new Timer(Duration.toMillis(options.idleKeyTimeout))
  }

  /** Whether values have gap deadlines (`gapTimeout`). */
  get gaps(): boolean {
    return this.gapTimer !== undefined
  }

  /** Whether keys have idle deadlines (`idleKeyTimeout`). */
  get idles(): boolean {
    return this.idleTimer !== undefined
  }

  /** Forks the timer fibers into `scope`. */
  start(scope: Scope.Scope): Effect.Effect<void> {
    const settle = (now: number) => this.settle(now)
    const timers = [this.gapTimer, this.idleTimer].filter((timer) => timer !== undefined)
    return Effect.forEach(timers, (timer) => Effect.forkIn(timer.run(this.clock, settle), scope), { discard: true })
  }

  /** Settles the gap and idle deadlines due now, if any are pending. */
  settleDue(): void {
    if ((this.gapTimer?.items.length ?? 0) + (this.idleTimer?.items.length ?? 0) > 0) {
      this.settle(this.clock.millis())
    }
  }

  private settle(now: number): void {
    const gapTimer = this.gapTimer
    if (gapTimer !== undefined) {
      let entry = gapTimer.shiftDue(now)
      while (entry !== undefined && !this.host.stopped) {
        this.host.gapDue(entry)
        entry = gapTimer.shiftDue(now)
      }
    }
    const idleTimer = this.idleTimer
    if (idleTimer !== undefined) {
      for (let state = idleTimer.shiftDue(now); state !== undefined; state = idleTimer.shiftDue(now)) {
        this.host.idleDue(state, now, idleTimer.millis)
      }
    }
  }

  /** With `gaps`: `entry` was buffered at `now`; `live` tells the `liveCount` entries still buffered. */
  buffered(entry: E, now: number, liveCount: number, live: (entry: E) => boolean): void {
    this.gapTimer!.push(entry, now)
    this.gapTimer!.compact(liveCount, live)
  }

  /** With `idles`: `state` became idle at `now`; `live` tells the `liveCount` states still idle since then. */
  idle(state: S, now: number, liveCount: number, live: (state: S, since: number) => boolean): void {
    this.idleTimer!.push(state, now)
    this.idleTimer!.compact(liveCount, live)
  }

  /** An offer filled a hole: a sign of a backlog. */
  holeFilled(): void {
    if (this.gapTimer !== undefined) this.lastBacklogSign = this.clock.millis()
  }

  /** An offer was suspended on a full key. */
  blocked(): void {
    this.blockedOffers++
  }

  /** `n` suspended offers were placed, dropped or abandoned. */
  unblocked(n: number): void {
    this.blockedOffers -= n
    this.backlogChanged()
  }

  /** The consumer holds `n` more released values (`-1`: it is done with one). */
  hold(n: number): void {
    this.held += n
    this.backlogChanged()
  }

  /** The moment the last suspended offer or held value leaves is the last sign of a backlog. */
  private backlogChanged(): void {
    if (this.blockedOffers + this.held === 0 && this.gapTimer !== undefined) {
      this.lastBacklogSign = this.clock.millis()
    }
  }

  /** The sequencer stopped: no deadline is pending, no offer suspended. */
  clear(): void {
    this.gapTimer?.clear()
    this.idleTimer?.clear()
    this.blockedOffers = 0
  }
}
