import * as Effect from "effect/Effect"
import * as runtime from "./runtime.ts"

/** What a sleeping fiber is resumed with when poked: it runs once its poker yields (`Alarm.wake`). */
const pokedLater: Effect.Effect<void> = runtime.afterResumer(Effect.void)

/**
 * When a watching fiber wakes up (hedging's, `hedge.ts`, and the deadlines',
 * `deadlines.ts`): at a due time on the Clock, or sooner, when something due
 * before it appears. It is poked from the middle of the engine's bookkeeping
 * (an action is being started or filed), so it runs once the poking fiber
 * yields, as effect 3 schedules it: effect 4 would run it at once, on the
 * poker's stack, and it would act on state the poker has yet to settle.
 *
 * @internal
 */
export class Alarm {
  /** When the fiber wakes up by itself; `Infinity` while it waits to be poked. */
  private until = Infinity
  private poke: ((effect: Effect.Effect<void>) => void) | undefined
  /**
   * A poke that came while the fiber was on its way to sleep: effect 3 starts the sides of a race on its
   * scheduler's next turn, so the sleep starts before the wait for a poke does, which then ends at once.
   */
  private pokedEarly = false

  /** Something is due at `due` (Clock ms): the fiber is poked if it sleeps past it. */
  wake(due: number): void {
    if (due >= this.until) return
    const poke = this.poke
    if (poke === undefined) {
      this.pokedEarly = true
      return
    }
    this.poke = undefined
    poke(pokedLater)
  }

  /** Sleeps until `due` (Clock ms, read as `now`), or until poked; with `due` `Infinity`, until poked. */
  sleepUntil(due: number, now: number): Effect.Effect<void> {
    this.until = due
    this.pokedEarly = false
    return due === Infinity ? this.poked : Effect.raceFirst(Effect.sleep(due - now), this.poked)
  }

  private readonly poked: Effect.Effect<void> = Effect.suspend(() => this.pokedEarly ? Effect.void : this.awaitPoke)

  private readonly awaitPoke: Effect.Effect<void> = runtime.async<void>((resume) => {
    this.poke = resume
    return Effect.sync(() => {
      this.poke = undefined
    })
  })
}
