import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { Heap } from "./heap.ts"
import * as runtime from "./runtime.ts"

/**
 * Discrete-event time for Effect programs: a `Clock` whose sleeps wait on a
 * heap of wake-ups, and a scheduler whose tasks run only when the driver
 * says. The driver runs every ready fiber until none is left, then jumps the
 * clock straight to the earliest wake-up — never a millisecond at a time, so
 * 100,000 simulated actions cost what their fibers' work costs, not what
 * their sleeps last. Same program, same wake-ups: the run is deterministic
 * (ties wake in the order they were scheduled).
 *
 * @internal
 */

/** A sleeping fiber's wake-up. */
interface WakeUp {
  readonly at: number
  readonly seq: number
  readonly resume: (effect: Effect.Effect<void>) => void
  cancelled: boolean
}

const before = (a: WakeUp, b: WakeUp): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** @internal */
export class VirtualClock {
  private nowMillis = 0
  private seq = 0
  private readonly wakeUps = new Heap<WakeUp>(before)
  /** The line's `Clock` over this one. */
  readonly clock: unknown = runtime.makeClock(() => this.nowMillis, (duration) => this.sleep(duration))

  millis(): number {
    return this.nowMillis
  }

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return runtime.async<void>((resume) => {
      const wakeUp: WakeUp = { at: this.nowMillis + Duration.toMillis(duration), seq: this.seq++, resume, cancelled: false }
      this.wakeUps.push(wakeUp)
      return Effect.sync(() => {
        wakeUp.cancelled = true
      })
    })
  }

  /** Moves the clock to the earliest pending wake-up and fires every wake-up due then; false if none is left. */
  advance(): boolean {
    let first = this.wakeUps.pop()
    while (first !== undefined && first.cancelled) first = this.wakeUps.pop()
    if (first === undefined) return false
    this.nowMillis = Math.max(this.nowMillis, first.at)
    first.resume(Effect.void)
    while (this.wakeUps.length > 0 && this.wakeUps.peek()!.at <= this.nowMillis) {
      const due = this.wakeUps.pop()!
      if (!due.cancelled) due.resume(Effect.void)
    }
    return true
  }
}

/** @internal */
export interface VirtualRun<A, E> {
  readonly exit: Exit.Exit<A, E>
  /** Simulated milliseconds from start to the program's end. */
  readonly elapsedMillis: number
}

/**
 * Runs `effect` to completion in virtual time, synchronously. A program that
 * waits on something no timer will ever wake is reported as a defect rather
 * than hanging.
 *
 * @internal
 */
export const runVirtual = <A, E>(effect: Effect.Effect<A, E>): VirtualRun<A, E> => {
  const clock = new VirtualClock()
  const scheduler = runtime.makeSteppedScheduler()
  const fiber = runtime.runForkOn(runtime.withClock(effect, clock.clock), scheduler.scheduler)
  for (;;) {
    while (scheduler.pending()) scheduler.step()
    const exit = runtime.poll(fiber)
    if (exit !== undefined) return { exit, elapsedMillis: clock.millis() }
    if (!clock.advance()) {
      throw new Error(
        `Simulated program is stuck at ${clock.millis()} ms: no fiber can run and no timer is pending`
      )
    }
  }
}
