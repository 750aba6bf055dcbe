/**
 * The real-time run's actions: action `i` of a `Simulation.workload` sleeps,
 * on whatever `Clock` runs it, what the simulation's virtual clock makes it
 * sleep — `latencyMillis[i]` on its first attempt and its own draw,
 * `hedgeLatencyMillis[i]`, on a hedged copy — so that a copy can win for real
 * as it does in simulation.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { Ordered, type Simulation } from "../../src/index.ts"

export interface Replay {
  /** Action `i`: succeeds with `i` once its attempt's latency has passed. */
  readonly action: (i: number) => Effect.Effect<number>
  /** Hedged copies started so far. */
  readonly hedged: () => number
  /** Actions whose hedged copy finished first, so far. */
  readonly hedgeWins: () => number
}

export const replay = (work: Simulation.Workload): Replay => {
  let hedged = 0
  let hedgeWins = 0
  const copy = (i: number): Effect.Effect<number> =>
    Effect.suspend(() => {
      hedged++
      // The first attempt is interrupted once the copy finishes: the copy won.
      return Effect.as(Effect.zipRight(Effect.sleep(work.hedgeLatencyMillis[i]), Effect.sync(() => hedgeWins++)), i)
    })
  return {
    action: (i) =>
      Effect.flatMap(
        FiberRef.get(Ordered.currentAttempt),
        (attempt) => attempt === 1 ? Effect.as(Effect.sleep(work.latencyMillis[i]), i) : copy(i)
      ),
    hedged: () => hedged,
    hedgeWins: () => hedgeWins
  }
}
