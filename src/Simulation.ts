/**
 * See what ordering costs and what the window buys before choosing options,
 * and test a pipeline's throughput deterministically.
 *
 * A simulation runs `actions` generated actions — each sleeps for a latency
 * drawn from a seeded model, and may fail — through `Ordered.mapEffect` in
 * virtual time: the clock jumps from one wake-up to the next, so 100,000
 * actions take seconds of real time, and the same options always give the
 * same report. The caller needs no `TestClock`: the simulation brings its own
 * clock and scheduler.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Ordered from "./Ordered.ts"
import * as internal from "./internal/simulation.ts"
import * as runtime from "./internal/runtime.ts"

/**
 * How long each simulated action takes. Build one with {@link Latency}'s
 * constructors, or pass a function from the action's index to its duration.
 *
 * @since 0.1.0
 * @category models
 */
export type Latency =
  | {
    /** Whole milliseconds, uniform in `[min, max)`. */
    readonly _tag: "Uniform"
    readonly min: number
    readonly max: number
  }
  | {
    /** Heavy-tailed: `median × e^(sigma × N(0, 1))` milliseconds. */
    readonly _tag: "LogNormal"
    readonly median: number
    readonly sigma: number
  }
  | {
    /** The given durations in turn, cycled when there are more actions. */
    readonly _tag: "Fixed"
    readonly durations: ReadonlyArray<runtime.DurationInput>
  }
  | Server
  | ((index: number) => runtime.DurationInput)

/**
 * A downstream with a capacity: at most `capacity` actions are served at
 * once, each for a draw of `latency`; the others wait in FIFO order, and an
 * action's observed latency includes its wait. `capacityChanges` change the
 * capacity at given times (simulated ms from the start), in any order.
 *
 * @since 0.2.0
 * @category models
 */
export interface Server {
  readonly _tag: "Server"
  readonly capacity: number
  /** How long serving one action takes (not itself a server). */
  readonly latency: Exclude<Latency, Server>
  readonly capacityChanges: ReadonlyArray<{ readonly atMillis: number; readonly capacity: number }>
}

/**
 * Constructors of {@link Latency} models. Their arguments are checked when a
 * simulation starts, with the rest of the options.
 *
 * - `uniform(min, max)`: whole milliseconds uniform in `[min, max)` (integers,
 *   `0 ≤ min < max`). `uniform(0, 100)` is the reference experiment's model.
 * - `logNormal(median, sigma)`: heavy-tailed, `median > 0` milliseconds,
 *   `sigma ≥ 0` (1.2 gives a p99 about 16× the median). A draw too large
 *   for a number (e.g. `sigma` 1000) is rejected like an invalid option.
 * - `fixed(durations)`: action `i` takes `durations[i % durations.length]`
 *   (a non-empty list of durations ≥ 0, cycled).
 * - `server({ capacity, latency, capacityChanges })`: a downstream that
 *   serves at most `capacity` actions at once (an integer ≥ 1), each for a
 *   draw of `latency` (default `uniform(0, 100)`), the others queueing FIFO;
 *   `capacityChanges` (default none) set a new capacity at `atMillis` (a
 *   finite number ≥ 0). What `concurrency: "auto"` is for.
 *
 * @example
 * ```ts
 * import { Simulation } from "effect-ordered"
 *
 * Simulation.Latency.uniform(0, 100)   // 0–99 ms
 * Simulation.Latency.logNormal(20, 1.2) // median 20 ms, long tail
 * Simulation.Latency.fixed([50, 10])    // 50, 10, 50, 10, …
 * // 40 at a time, median 20 ms each; 10 at a time from 2 s on:
 * Simulation.Latency.server({
 *   capacity: 40,
 *   latency: Simulation.Latency.logNormal(20, 0.5),
 *   capacityChanges: [{ atMillis: 2000, capacity: 10 }]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const Latency: {
  readonly uniform: (min: number, max: number) => Exclude<Latency, Server>
  readonly logNormal: (median: number, sigma: number) => Exclude<Latency, Server>
  readonly fixed: (durations: ReadonlyArray<runtime.DurationInput>) => Exclude<Latency, Server>
  readonly server: (options: {
    readonly capacity: number
    readonly latency?: Exclude<Latency, Server> | undefined
    readonly capacityChanges?: ReadonlyArray<{ readonly atMillis: number; readonly capacity: number }> | undefined
  }) => Latency
} = internal.Latency

/**
 * What to simulate. Invalid options make the effect die with
 * `Cause.IllegalArgumentException` naming the option and the bad value, e.g.
 * `` Expected `options.failures` to be a probability between 0 and 1, got `2` (number) ``.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How many actions to run. An integer from 1 to 2^32 - 1 (JavaScript's largest array). */
  readonly actions: number
  /**
   * As `Ordered`'s `concurrency`: at most this many actions run at once. An
   * integer ≥ 1, or `"auto"` (with `maxConcurrency`, `minConcurrency`).
   */
  readonly concurrency: number | "auto"
  /** As `Ordered`'s `maxConcurrency` (only with `concurrency: "auto"`). Default: 1000. */
  readonly maxConcurrency?: number | undefined
  /** As `Ordered`'s `minConcurrency` (only with `concurrency: "auto"`). Default: 1. */
  readonly minConcurrency?: number | undefined
  /** As `Ordered`'s `window`. Default: `"auto"`. */
  readonly window?: number | "auto" | undefined
  /** As `Ordered`'s `maxWindow` (only with `window: "auto"`). Default: `128 × concurrency` (`maxConcurrency` for `"auto"`). */
  readonly maxWindow?: number | undefined
  /** As `Ordered`'s `order`. Default: `"total"`; `"key"` needs `keys`. */
  readonly order?: "total" | "key" | "none" | undefined
  /**
   * Gives every action one of this many keys (drawn uniformly, seeded), used
   * as `Ordered`'s `key`: same-key actions run at most `keyConcurrency` at a
   * time, and `order: "key"` emits in order within each key. An integer ≥ 1.
   * Default: no keys.
   */
  readonly keys?: number | undefined
  /** As `Ordered`'s `keyConcurrency` (needs `keys`). Default: 1. */
  readonly keyConcurrency?: number | undefined
  /** How long each action takes. Default: `Latency.uniform(0, 100)`. */
  readonly latency?: Latency | undefined
  /**
   * Probability that an action fails (after its latency), drawn per action
   * with the seed. A failure ends the run as it would a real one: in total
   * order, every earlier action is still emitted, then the stream fails and
   * later actions in flight are interrupted. Default: 0.
   */
  readonly failures?: number | undefined
  /** Seeds latencies, keys and failures. An integer. Default: 1. */
  readonly seed?: number | undefined
  /**
   * As `Ordered`'s `hedge`. A hedged copy draws its own latency from the
   * model (as a retry of a slow call usually runs at the normal speed;
   * `fixed` and function models give it the action's own), and fails if the
   * action fails. Default: no hedging.
   */
  readonly hedge?: Ordered.Options<number>["hedge"]
}

/**
 * The generated actions: what every strategy of one simulation runs, and
 * what a real-time run can replay.
 *
 * @since 0.1.0
 * @category models
 */
export interface Workload {
  /** Action `i` sleeps `latencyMillis[i]` milliseconds (with `Latency.server`: once served). */
  readonly latencyMillis: ReadonlyArray<number>
  /** A hedged copy of action `i` sleeps `hedgeLatencyMillis[i]` milliseconds. */
  readonly hedgeLatencyMillis: ReadonlyArray<number>
  /** Action `i`'s key, when `keys` is given. */
  readonly keys: ReadonlyArray<number> | undefined
  /** Whether action `i` fails once its latency has passed. */
  readonly fails: ReadonlyArray<boolean>
}

/**
 * One action's life in a run, in simulated milliseconds from the start.
 *
 * @since 0.1.0
 * @category models
 */
export interface ActionTrace {
  readonly index: number
  readonly key: number | undefined
  /** Its drawn latency (with `Latency.server`: how long it is served, its wait not included). */
  readonly latencyMillis: number
  /** When a worker started it (before any wait for a server); `undefined` if it never started. */
  readonly startMillis: number | undefined
  /** When it finished (succeeded or failed); `undefined` if it never did (interrupted or never started). */
  readonly finishMillis: number | undefined
  /** When it was emitted downstream; `undefined` if it never was. */
  readonly emitMillis: number | undefined
  readonly failed: boolean
  /** When a hedged copy of it started; `undefined` if none did. */
  readonly hedgeStartMillis: number | undefined
  /** Whether the hedged copy finished first (`finishMillis` is then the copy's). */
  readonly hedgeWon: boolean
}

/**
 * What a simulated run measured. Times are simulated milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  /** Actions requested. */
  readonly actions: number
  /** Actions emitted downstream: all of them, unless a failure ended the run. */
  readonly emitted: number
  /** From the start to the last emission, or to the failure that ended the run. */
  readonly makespanMillis: number
  /** Emitted actions per simulated second (`Infinity` if the makespan is 0). */
  readonly throughput: number
  /** Most actions running at the same time, hedged copies included. */
  readonly peakInFlight: number
  /** Most actions finished at the same time but not yet emitted because an earlier one was still running. */
  readonly peakBuffered: number
  /** How long finished actions waited to be emitted (finish → emit), over emitted actions. */
  readonly emissionDelay: {
    readonly p50: number
    readonly p99: number
    readonly max: number
  }
  /** Every emitted action came out once and in the requested order, and every action did unless a failure ended the run. */
  readonly orderHeld: boolean
  /** Sum of all latencies: one action at a time. */
  readonly sequentialMillis: number
  /** Makespan of the same workload with `window: Infinity` and no hedging: the floor that a bigger window approaches. */
  readonly unboundedMillis: number
  /** The action whose failure ended the run; `undefined` if the run succeeded. */
  readonly failedAt: number | undefined
  /** Actions that had started and were interrupted because a failure ended the run. */
  readonly interrupted: number
  /** Hedged copies started: the extra actions that hedging cost. */
  readonly hedged: number
  /** Hedged copies that finished before the first attempt. */
  readonly hedgeWins: number
  /**
   * The actions' observed latency, start to finish (a server's queueing
   * included), over the actions that finished: what `concurrency: "auto"`
   * watches.
   */
  readonly latency: {
    readonly p50: number
    readonly p99: number
    readonly max: number
  }
  /**
   * With `concurrency: "auto"`: the limit over the run (`mean` weighted by
   * time up to the makespan, `max`, `final`, and every change); `undefined`
   * for a fixed concurrency.
   */
  readonly concurrencyLimit: {
    readonly mean: number
    readonly max: number
    readonly final: number
    readonly changes: ReadonlyArray<{ readonly atMillis: number; readonly limit: number }>
  } | undefined
  /** Every action, by index. */
  readonly timeline: ReadonlyArray<ActionTrace>
}

/**
 * Options of {@link compare}: a simulation's, and the windows to try.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompareOptions extends Options {
  /**
   * One `effect-ordered` row per window (integers ≥ `concurrency`,
   * `Infinity` or `"auto"`), each with `hedge`, all on the same workload.
   * Default: `[window]`.
   */
  readonly windows?: ReadonlyArray<number | "auto"> | undefined
  /**
   * One more `effect-ordered` row per hedging policy (as `Ordered`'s
   * `hedge`), at `window`. Default: none.
   */
  readonly hedges?: ReadonlyArray<NonNullable<Ordered.Options<number>["hedge"]>> | undefined
  /**
   * One more `effect-ordered` row per concurrency (integers ≥ 1 or
   * `"auto"`, with `maxConcurrency` / `minConcurrency`), at `window` with
   * `hedge`. Default: none.
   */
  readonly concurrencies?: ReadonlyArray<number | "auto"> | undefined
}

/**
 * One strategy's result in {@link compare}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  /**
   * `"sequential"` (the sum of latencies), `"Stream.mapEffect"`,
   * `"effect-ordered"` (a given window and hedging) or `"unbounded"`
   * (window `Infinity`, no hedging: the reference).
   */
  readonly strategy: "sequential" | "Stream.mapEffect" | "effect-ordered" | "unbounded"
  /** The window of an `effect-ordered` or `unbounded` row; `undefined` for the others. */
  readonly window: number | "auto" | undefined
  /** The hedging policy of an `effect-ordered` row; `undefined` when it hedges nothing. */
  readonly hedge: Ordered.Options<number>["hedge"]
  /** The concurrency of a row that ran actions (`maxConcurrency` for `Stream.mapEffect` under `"auto"`); `undefined` for sequential. */
  readonly concurrency: number | "auto" | undefined
  /** The actions' observed latency p99, start to finish (0 for sequential). */
  readonly latencyP99Millis: number
  readonly makespanMillis: number
  /** `sequentialMillis / makespanMillis`. */
  readonly speedup: number
  /** `makespanMillis / unboundedMillis`: 1 is as fast as ordering with unlimited memory allows. */
  readonly vsUnbounded: number
  /** Hedged copies started (0 for rows that hedge nothing). */
  readonly hedged: number
  /** Hedged copies that finished first. */
  readonly hedgeWins: number
}

/**
 * The actions a simulation with these options runs: their latencies, keys
 * and failures, drawn from the seed. Use it to replay the same workload for
 * real, or to check a latency model.
 *
 * @example
 * ```ts
 * import { Simulation } from "effect-ordered"
 *
 * const { latencyMillis } = Simulation.workload({ actions: 5, concurrency: 2, seed: 7 })
 * // The same on every run and runtime:
 * console.log(latencyMillis)
 * // [ 67, 85, 56, 17, 75 ]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const workload: (options: Options) => Workload = internal.workload

/**
 * Runs the workload through `Ordered.mapEffect` in virtual time and reports
 * makespan, throughput, peaks, emission delays and whether the order held,
 * next to the sequential total and the unbounded-window makespan.
 * Deterministic: the same options give the same report. The simulation runs
 * synchronously when the effect runs (it blocks the thread for its real
 * cost: about a second per 10,000–20,000 actions).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Simulation } from "effect-ordered"
 *
 * // Latency uniform in 0–99 ms and seed 1: the defaults.
 * const report = Effect.runSync(Simulation.run({ actions: 1000, concurrency: 100 }))
 *
 * console.log(report.makespanMillis, report.unboundedMillis, report.sequentialMillis, report.orderHeld)
 * // 552 552 49394 true
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (options: Options) => Effect.Effect<Report> = internal.run

/**
 * Runs the same workload several ways and returns one row each, in this
 * order: sequential (the sum of latencies), Effect's
 * `Stream.mapEffect({ concurrency })` (`unordered: true` for `order: "none"`;
 * it knows no keys), `Ordered.mapEffect` with each of `windows` (default: the
 * one `window`) and `hedge`, once more per policy in `hedges` (at `window`),
 * once more per concurrency in `concurrencies` (at `window`), and with
 * `window: Infinity` and no hedging. `Stream.mapEffect` runs at
 * `maxConcurrency` when `concurrency` is `"auto"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Simulation } from "effect-ordered"
 *
 * const rows = Effect.runSync(Simulation.compare({ actions: 1000, concurrency: 100 }))
 * for (const row of rows) console.log(row.strategy, row.window, row.makespanMillis, row.speedup.toFixed(1))
 * // sequential undefined 49394 1.0
 * // Stream.mapEffect undefined 963 51.3
 * // effect-ordered auto 552 89.5
 * // unbounded Infinity 552 89.5
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const compare: (options: CompareOptions) => Effect.Effect<ReadonlyArray<Row>> = internal.compare
