/**
 * The real-time run's actions: action `i` of a `Simulation.workload` sleeps,
 * on whatever `Clock` runs it, what the simulation's virtual clock makes it
 * sleep — `latencyMillis[i]` on its first attempt and its own draw,
 * `hedgeLatencyMillis[i]`, on a hedged copy — so that a copy can win for real
 * as it does in simulation. With a capacity, every attempt first waits for a
 * place in a downstream that serves at most that many at once, in arrival
 * order, as `Latency.server` does in simulation.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { constVoid } from "effect/Function"
import { Ordered, type Simulation } from "../../src/index.ts"

export interface Replay {
  /** Action `i`: succeeds with `i` once its attempt's latency (and its wait for the downstream) has passed. */
  readonly action: (i: number) => Effect.Effect<number>
  /** Runs `program` with the downstream's capacity changes applied at their times from now. */
  readonly run: <A, E>(program: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Hedged copies started so far. */
  readonly hedged: () => number
  /** Actions whose hedged copy finished first, so far. */
  readonly hedgeWins: () => number
  /** Each finished action's observed latency (ms): its first attempt's start to its first finish, queueing included. */
  readonly latencies: () => ReadonlyArray<number>
}

export interface Downstream {
  readonly capacity: number
  readonly changes: ReadonlyArray<{ readonly atMillis: number; readonly capacity: number }>
}

/**
 * A downstream serving at most `capacity` at once, strictly first come first
 * served (an Effect semaphore lets a newcomer take a place freed before a
 * waiter wakes, which starves waiters); `run` applies the changes at their
 * times from its start. An attempt interrupted while it waits leaves the line.
 */
const makeDownstream = (downstream: Downstream) => {
  let capacity = downstream.capacity
  let busy = 0
  // first come first served: `line[head]` is the next to serve
  const line: Array<Place> = []
  let head = 0
  const admit = () => {
    while (busy < capacity) {
      if (head === line.length) {
        line.length = head = 0
        return
      }
      const next = line[head++]
      if (next.state === "gone") continue
      busy++
      next.state = "served"
      next.wake()
    }
  }
  const serve = (millis: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const place: Place = { state: "waiting", wake: constVoid }
      const wait = Effect.flatMap(Deferred.make<void>(), (served) => {
        place.wake = () => Effect.runSync(Deferred.succeed(served, undefined))
        line.push(place)
        admit()
        return Deferred.await(served)
      })
      const leave = Effect.sync(() => {
        if (place.state === "served") {
          busy--
          admit()
        }
        place.state = "gone"
      })
      return Effect.ensuring(Effect.andThen(wait, Effect.sleep(millis)), leave)
    })
  const changes = [...downstream.changes].sort((a, b) => a.atMillis - b.atMillis)
  const changer = Effect.flatMap(Clock.currentTimeMillis, (start) =>
    Effect.forEach(changes, (change) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.andThen(
          Effect.sleep(Math.max(0, start + change.atMillis - now)),
          Effect.sync(() => {
            capacity = change.capacity
            admit()
          })
        )), { discard: true }))
  return {
    serve,
    run: <A, E>(program: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.scoped(Effect.andThen(Effect.forkScoped(changer), program))
  }
}

interface Place {
  state: "waiting" | "served" | "gone"
  wake: () => void
}

export const replay = (work: Simulation.Workload, downstream?: Downstream): Replay => {
  let hedged = 0
  let hedgeWins = 0
  const started = new Float64Array(work.latencyMillis.length).fill(NaN)
  const done = new Uint8Array(work.latencyMillis.length)
  const latencies: Array<number> = []
  const server = downstream === undefined ? undefined : makeDownstream(downstream)
  const serve = (millis: number) => server === undefined ? Effect.sleep(millis) : server.serve(millis)
  // The first attempt to finish records the latency (the other is interrupted at once, or ties).
  const finished = (i: number) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      if (done[i] === 0) latencies.push(now - started[i])
      done[i] = 1
    })
  const first = (i: number): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      started[i] = now
      return Effect.andThen(serve(work.latencyMillis[i]), finished(i))
    })
  const copy = (i: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      hedged++
      // The first attempt is interrupted once the copy finishes: the copy won.
      return Effect.andThen(serve(work.hedgeLatencyMillis[i]), Effect.andThen(finished(i), Effect.sync(() => hedgeWins++)))
    })
  return {
    action: (i) => Effect.as(Effect.flatMap(Ordered.currentAttempt, (attempt) => attempt === 1 ? first(i) : copy(i)), i),
    run: (program) => server === undefined ? program : server.run(program),
    hedged: () => hedged,
    hedgeWins: () => hedgeWins,
    latencies: () => latencies
  }
}
