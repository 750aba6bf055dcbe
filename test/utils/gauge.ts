import * as Effect from "effect/Effect"

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
