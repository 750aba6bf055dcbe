import * as Effect from "effect/Effect"
import { isInterruptedOnly, makeSemaphore } from "./line.ts"

/**
 * An in-flight gauge: wraps an action so that the gauge counts it while it
 * runs (released on success, failure and interruption alike) and records the
 * peak.
 */
export interface Gauge {
  readonly current: () => number
  readonly peak: () => number
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const makeGauge = (): Gauge => {
  let current = 0
  let peak = 0
  return {
    current: () => current,
    peak: () => peak,
    track: (effect) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          current++
          if (current > peak) peak = current
        }),
        () => effect,
        () =>
          Effect.sync(() => {
            current--
          })
      )
  }
}

/** A per-key gauge: peak in flight for each key. */
export const makeKeyedGauge = () => {
  const gauges = new Map<string | number, Gauge>()
  const of = (key: string | number) => {
    let gauge = gauges.get(key)
    if (gauge === undefined) gauges.set(key, gauge = makeGauge())
    return gauge
  }
  return {
    track: <A, E, R>(key: string | number, effect: Effect.Effect<A, E, R>) => of(key).track(effect),
    peak: () => Math.max(0, ...[...gauges.values()].map((g) => g.peak()))
  }
}

/**
 * Watches an operator's actions by index: in flight overall (every attempt,
 * hedged copies included) and per key (distinct actions: a hedged copy runs
 * beside its action, not as another action of the key), with peaks; how many
 * attempts of each index started, and how each ended (finalized once, as a
 * completion or an interruption).
 */
export interface ActionProbe {
  readonly track: <A, E, R>(index: number, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly current: () => number
  readonly peak: () => number
  readonly peakPerKey: () => number
  readonly started: ReadonlyMap<number, number>
  readonly finalized: ReadonlyMap<number, number>
  readonly completed: ReadonlyMap<number, number>
  readonly interrupted: ReadonlyMap<number, number>
}

export const makeActionProbe = (keyOf: (index: number) => string | number): ActionProbe => {
  const total = makeGauge()
  const attemptsRunning = new Map<number, number>()
  const actionsOfKey = new Map<string | number, number>()
  let peakPerKey = 0
  const started = new Map<number, number>()
  const finalized = new Map<number, number>()
  const completed = new Map<number, number>()
  const interrupted = new Map<number, number>()
  const bump = (map: Map<number, number>, index: number, by = 1) => map.set(index, (map.get(index) ?? 0) + by)
  const bumpKey = (index: number, by: number) => {
    const key = keyOf(index)
    const now = (actionsOfKey.get(key) ?? 0) + by
    actionsOfKey.set(key, now)
    if (now > peakPerKey) peakPerKey = now
  }
  return {
    track: (index, effect) =>
      total.track(
        Effect.acquireUseRelease(
          Effect.sync(() => {
            bump(started, index)
            if (bump(attemptsRunning, index).get(index) === 1) bumpKey(index, 1)
          }),
          () =>
            Effect.onExit(effect, (exit) =>
              Effect.sync(() => bump(exit._tag === "Failure" && isInterruptedOnly(exit.cause) ? interrupted : completed, index))),
          () =>
            Effect.sync(() => {
              bump(finalized, index)
              if (bump(attemptsRunning, index, -1).get(index) === 0) bumpKey(index, -1)
            })
        )
      ),
    current: total.current,
    peak: total.peak,
    peakPerKey: () => peakPerKey,
    started,
    finalized,
    completed,
    interrupted
  }
}

/** The lowest mean of `size` consecutive samples (the whole series' mean when it is shorter). */
export const lowestMean = (samples: ReadonlyArray<number>, size: number): number => {
  const n = Math.min(size, samples.length)
  let sum = 0
  for (let i = 0; i < n; i++) sum += samples[i]
  let lowest = sum
  for (let i = n; i < samples.length; i++) {
    sum += samples[i] - samples[i - n]
    if (sum < lowest) lowest = sum
  }
  return lowest / n
}

/**
 * A real-time downstream that serves `capacity` calls at once, each for
 * `millis`; the others queue, and their latency shows it. Records the calls
 * in flight as each call starts (`atStart`) and the peak.
 */
export const queuedDownstream = (capacity: number, millis: number) => {
  const permits = makeSemaphore(capacity)
  const state = { inFlight: 0, peak: 0, atStart: [] as Array<number> }
  const call = <A>(value: A): Effect.Effect<A> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        state.peak = Math.max(state.peak, ++state.inFlight)
        state.atStart.push(state.inFlight)
      }),
      () => permits.withPermits(1)(Effect.as(Effect.sleep(millis), value)),
      () => Effect.sync(() => state.inFlight--)
    )
  return { state, call }
}
