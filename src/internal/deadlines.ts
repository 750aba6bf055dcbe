import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Alarm } from "./alarm.ts"
import * as runtime from "./runtime.ts"

/**
 * What the deadlines watch, one attempt at a time, as its own entry in their list: an engine worker (it runs one
 * attempt at a time), or a partition worker's attempt (`attemptTimeout.ts`). @internal
 */
export interface Watched {
  /** While its attempt is watched: that attempt's deadline (Clock ms). */
  due: number | undefined
  /** Its neighbours in the list, earliest deadline first. */
  earlier: Watched | undefined
  later: Watched | undefined
}

/**
 * `options.timeout` in one run: each running attempt has a deadline, and one
 * fiber (`loop`) sleeps until the earliest and hands the attempts past theirs
 * to the owner (`expired`: the engine, or the partition worker's
 * `attemptTimeout.ts`), which interrupts them. `Effect.timeout` around
 * each action would run it on a fiber of its own, raced against a sleep on
 * another: forks, a race and a sleep per action, which cost many times the
 * action's own trip through the runtime (docs/benchmarks.md, `timeout`).
 *
 * Every attempt runs under the same duration, so deadlines come in start
 * order. They are kept in a list threaded through the entries (the engine's
 * are its workers: nothing is allocated per action), and an attempt that
 * ends leaves the list at once, however long the timeout. A hedged copy is
 * due when its action is, which started earlier: it is threaded in from the
 * latest end, a few steps at most.
 *
 * @internal
 */
export class Deadlines<W extends Watched, R> {
  private earliest: W | undefined
  private latest: W | undefined
  /** Whether an attempt was watched since the fiber last woke: with none, and none running, it parks. */
  private watchedSinceWake = false
  private readonly alarm = new Alarm()
  private readonly millis: number

  constructor(
    timeout: Duration.Duration,
    private readonly clock: runtime.ClockReader,
    /** `worker`'s attempt (or the attempt itself) is past its deadline, and no longer watched: what ends it, run by the fiber. */
    private readonly expired: (worker: W) => Effect.Effect<void, never, R>
  ) {
    this.millis = Duration.toMillis(timeout)
  }

  /** `worker` runs an attempt of an action that started at `startedAt` (Clock ms): it is due a timeout later. */
  watch(worker: W, startedAt: number): void {
    const due = startedAt + this.millis
    worker.due = due
    this.watchedSinceWake = true
    let earlier = this.latest
    while (earlier !== undefined && earlier.due! > due) earlier = earlier.earlier as W | undefined
    const later = (earlier === undefined ? this.earliest : earlier.later) as W | undefined
    worker.earlier = earlier
    worker.later = later
    if (earlier === undefined) this.earliest = worker
    else earlier.later = worker
    if (later === undefined) this.latest = worker
    else later.earlier = worker
    this.alarm.wake(due)
  }

  /** `worker`'s attempt ended, or was stopped, before its deadline. */
  unwatch(worker: W): void {
    if (worker.due === undefined) return
    worker.due = undefined
    const earlier = worker.earlier as W | undefined
    const later = worker.later as W | undefined
    if (earlier === undefined) this.earliest = later
    else earlier.later = later
    if (later === undefined) this.latest = earlier
    else later.earlier = earlier
    worker.earlier = worker.later = undefined
  }

  /** The watching fiber: ends every attempt past its deadline, then sleeps until the next one; runs until interrupted. */
  readonly loop: Effect.Effect<never, never, R> = Effect.suspend((): Effect.Effect<never, never, R> => {
    const now = this.clock.millis()
    const head = this.earliest
    // Within a nanosecond: a clock in fractional milliseconds may land a hair short of `due`.
    if (head !== undefined && head.due! - now < 1e-6) {
      this.unwatch(head)
      return runtime.zipRight(this.expired(head), this.loop)
    }
    // With nothing watched, an attempt that starts from now is due a whole timeout later at the earliest (a copy may
    // be due sooner, and pokes): sleeping until then, rather than parking, spares workers that start their actions one
    // at a time, each ending before the next starts, a poke per action. Nothing watched since it woke: it parks.
    const due = head?.due ?? (this.watchedSinceWake ? now + this.millis : Infinity)
    this.watchedSinceWake = false
    return runtime.zipRight(this.alarm.sleepUntil(due, now), this.loop)
  })
}
