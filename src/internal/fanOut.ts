import * as Effect from "effect/Effect"
import * as runtime from "./runtime.ts"

/**
 * Runs groups of calls, the calls of a group one after the other and the
 * groups concurrently, the way the calls turn out to need: a partition
 * worker's sink calls, a group per key of each released chunk
 * (`partitionWorker.ts`). Running groups concurrently costs a fiber per
 * group. Calls that wait (a write) need that, all in flight together: a
 * write per key then travels in one round trip, as Redis pipelines what is
 * sent in one turn. Calls that complete at once do not, and a fiber per key
 * of a chunk of dozens of keys cost more than the rest of a result's way.
 *
 * So a `FanOut` learns, from each run's groups, which calls it runs. It
 * starts concurrent. A run whose groups all completed at once sends the
 * next run one group after the other on the caller's fiber; there, once a
 * group waited, the rest of the run, and the runs after it, go concurrent
 * again: the group that waits first has run alone to its end, once, each
 * time the calls turn from completing at once to waiting. A group waited
 * when a microtask queued as it started ran before it completed (so did
 * one that completed through a promise already resolved, or that the
 * runtime made yield).
 *
 * @internal
 */
export class FanOut {
  /** Whether the last run had a group that waited. */
  private concurrent = true

  run<G, E, R>(groups: ReadonlyArray<G>, apply: (group: G) => Effect.Effect<void, E, R>): Effect.Effect<void, E, R> {
    // A lone group (most chunks under load hold one result) runs on the caller's fiber, whatever the calls do.
    if (groups.length === 1) return apply(groups[0])
    return Effect.suspend(() => {
      const run: Run = { waited: false }
      const ended = Effect.sync(() => {
        this.concurrent = run.waited
      })
      const concurrently = (rest: ReadonlyArray<G>) =>
        runtime.zipRight(
          Effect.forEach(rest, (group) => watched(apply(group), run), { concurrency: "unbounded", discard: true }),
          ended
        )
      const oneByOne = (index: number): Effect.Effect<void, E, R> => {
        if (index === groups.length) return ended
        if (run.waited) return concurrently(groups.slice(index))
        return runtime.zipRight(watched(apply(groups[index]), run), Effect.suspend(() => oneByOne(index + 1)))
      }
      return this.concurrent ? concurrently(groups) : oneByOne(0)
    })
  }
}

interface Run {
  waited: boolean
}

/** `effect`, noting in `run` whether it waited: whether a microtask queued as it starts runs before it completes. */
const watched = <E, R>(effect: Effect.Effect<void, E, R>, run: Run): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let completed = false
    queueMicrotask(() => {
      if (!completed) run.waited = true
    })
    return runtime.zipRight(
      effect,
      Effect.sync(() => {
        completed = true
      })
    )
  })
