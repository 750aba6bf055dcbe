import * as Effect from "effect/Effect"
import { callback, fork, observingQuiet } from "./line.ts"

/** Resumes once the event loop has gone round (a timer of 0 ms). */
export const nextMacrotask = callback<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(timer))
})

/**
 * Forks `effect` and returns a wait for the moment nothing more can happen without outside help: every fiber it
 * forked is suspended (parked, waiting on a Deferred or the clock) or done (`observingQuiet`), twice in a row
 * across a trip through the event loop. Polls with a deadline of `maxPolls` and fails loudly past it.
 */
export const forkObserved = <A, E>(effect: Effect.Effect<A, E>, maxPolls = 10_000) =>
  Effect.gen(function*() {
    const [observed, quiet] = observingQuiet(effect)
    const fiber = yield* fork(observed)
    const settled = Effect.gen(function*() {
      let quietInARow = 0
      for (let poll = 0; poll < maxPolls; poll++) {
        quietInARow = (yield* quiet(fiber)) ? quietInARow + 1 : 0
        if (quietInARow === 2) return
        // A macrotask: Effect's scheduler may have deferred work to a timer.
        yield* nextMacrotask
      }
      return yield* Effect.dieMessage(`fibers still running after ${maxPolls} polls`)
    })
    return { fiber, settled }
  })
