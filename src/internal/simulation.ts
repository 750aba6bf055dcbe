import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Ordered from "../Ordered.ts"
import type {
  ActionTrace,
  CompareOptions,
  Latency as LatencyModel,
  Options,
  Report,
  Row,
  Workload
} from "../Simulation.ts"
import { currentAttempt, resolveHedge } from "./hedge.ts"
import { checkWindow, type Order, resolveOptions } from "./options.ts"
import { deriveSeed, logNormal, mulberry32, uniformInt } from "./random.ts"
import * as V from "./validate.ts"
import { runVirtual } from "./virtualTime.ts"

/**
 * The simulation engine: draws a workload from the seed, runs it through a
 * strategy in virtual time (`runVirtual`) while recording each action's
 * start, finish and emission on the program's `Clock`, then derives the
 * report from those records alone.
 *
 * @internal
 */

/** @internal */
export const Latency = {
  uniform: (min: number, max: number): LatencyModel => ({ _tag: "Uniform", min, max }),
  logNormal: (median: number, sigma: number): LatencyModel => ({ _tag: "LogNormal", median, sigma }),
  fixed: (durations: ReadonlyArray<Duration.DurationInput>): LatencyModel => ({ _tag: "Fixed", durations })
}

const DEFAULT_LATENCY: LatencyModel = Latency.uniform(0, 100)
const DEFAULT_SEED = 1
/** The workload and the trace are arrays indexed by action: JavaScript caps them at 2^32 - 1. */
const MAX_ACTIONS = 2 ** 32 - 1
const ORDERS = ["total", "key", "none"] as const

/** Independent random streams drawn from one seed. */
const LATENCY_STREAM = 1
const KEY_STREAM = 2
const FAILURE_STREAM = 3
const HEDGE_STREAM = 4

interface Resolved {
  readonly actions: number
  readonly concurrency: number
  readonly window: number | "auto"
  readonly maxWindow: number | undefined
  readonly order: Order
  readonly keys: number | undefined
  readonly keyConcurrency: number | undefined
  readonly latency: LatencyModel
  readonly failures: number
  readonly seed: number
  /** As given: `Ordered` checked it. */
  readonly hedge: Ordered.Options<number>["hedge"]
}

const resolve = (options: unknown): Resolved => {
  const o = V.record("options", options)
  const actions = V.integerBetween("options.actions", o.actions, 1, MAX_ACTIONS)
  const order = o.order === undefined ? "total" : V.oneOf("options.order", o.order, ORDERS)
  const keys = o.keys === undefined ? undefined : V.integerAtLeast("options.keys", o.keys, 1)
  if (keys === undefined && order === "key") {
    throw V.invalid("options.keys", "an integer ≥ 1 when `options.order` is \"key\"", o.keys)
  }
  if (keys === undefined && o.keyConcurrency !== undefined) {
    throw V.comesWith("options.keyConcurrency", o.keyConcurrency, "options.keys")
  }
  // Concurrency, window, order and keyConcurrency mean what they mean to Ordered: let it check them.
  const ordered = resolveOptions<number>({
    concurrency: o.concurrency,
    window: o.window,
    maxWindow: o.maxWindow,
    order,
    key: keys === undefined ? undefined : Number,
    keyConcurrency: o.keyConcurrency,
    hedge: o.hedge
  }, undefined)
  const latency = o.latency === undefined ? DEFAULT_LATENCY : checkLatency(o.latency)
  const failures = o.failures === undefined
    ? 0
    : V.finiteNumberBetween("options.failures", o.failures, 0, 1, "a probability between 0 and 1")
  const seed = o.seed === undefined
    ? DEFAULT_SEED
    : V.integerAtLeast("options.seed", o.seed, Number.MIN_SAFE_INTEGER, "an integer")
  return {
    actions,
    concurrency: ordered.concurrency,
    window: ordered.maxWindow === undefined ? ordered.window : "auto",
    maxWindow: ordered.maxWindow,
    order,
    keys,
    keyConcurrency: keys === undefined ? undefined : ordered.keyConcurrency,
    latency,
    failures,
    seed,
    hedge: o.hedge as Ordered.Options<number>["hedge"]
  }
}

const checkLatency = (value: unknown): LatencyModel => {
  if (typeof value === "function") return value as LatencyModel
  const latency = V.record("options.latency", value)
  switch (latency._tag) {
    case "Uniform": {
      const min = V.integerAtLeast("options.latency.min", latency.min, 0)
      V.integerAtLeast("options.latency.max", latency.max, min + 1, `an integer > min (${min})`)
      return value as LatencyModel
    }
    case "LogNormal":
      V.finiteNumberBetween("options.latency.median", latency.median, Number.MIN_VALUE, Infinity, "a finite number > 0")
      V.finiteNumberBetween("options.latency.sigma", latency.sigma, 0, Infinity, "a finite number ≥ 0")
      return value as LatencyModel
    case "Fixed": {
      const durations = latency.durations
      if (!Array.isArray(durations) || durations.length === 0) {
        throw V.invalid("options.latency.durations", "a non-empty array of durations", durations)
      }
      durations.forEach((d, i) => V.nonNegativeDuration(`options.latency.durations[${i}]`, d))
      return value as LatencyModel
    }
    default:
      throw V.invalid(
        "options.latency",
        "a Simulation.Latency (Latency.uniform(min, max), .logNormal(median, sigma), .fixed([…])) or a function (index) => Duration",
        value
      )
  }
}

/** One latency per action from the model; `stream` picks independent draws (a hedged copy's are its own). */
const drawLatencies = (resolved: Resolved, stream: number): Array<number> => {
  const { actions, latency, seed } = resolved
  const out = new Array<number>(actions)
  if (typeof latency === "function") {
    for (let i = 0; i < actions; i++) {
      out[i] = Duration.toMillis(V.nonNegativeDuration(`options.latency(${i})`, latency(i)))
    }
    return out
  }
  const random = mulberry32(deriveSeed(seed, stream))
  switch (latency._tag) {
    case "Uniform":
      for (let i = 0; i < actions; i++) out[i] = uniformInt(random, latency.min, latency.max)
      break
    case "LogNormal":
      for (let i = 0; i < actions; i++) {
        // A large sigma (or median) overflows to Infinity: an action that never ends.
        const millis = logNormal(random, latency.median, latency.sigma)
        if (!Number.isFinite(millis)) {
          throw V.invalid("options.latency", `a model whose draws are finite (action ${i} drew ${millis} ms)`, latency)
        }
        out[i] = millis
      }
      break
    case "Fixed": {
      const millis = latency.durations.map((d) => Duration.toMillis(Duration.decode(d)))
      for (let i = 0; i < actions; i++) out[i] = millis[i % millis.length]
      break
    }
  }
  return out
}

const draw = (resolved: Resolved): Workload => {
  const { actions, failures, keys, seed } = resolved
  let keyOf: Array<number> | undefined
  if (keys !== undefined) {
    const random = mulberry32(deriveSeed(seed, KEY_STREAM))
    keyOf = new Array<number>(actions)
    for (let i = 0; i < actions; i++) keyOf[i] = uniformInt(random, 0, keys)
  }
  const fails = new Array<boolean>(actions)
  const random = mulberry32(deriveSeed(seed, FAILURE_STREAM))
  for (let i = 0; i < actions; i++) fails[i] = failures > 0 && random() < failures
  const latencyMillis = drawLatencies(resolved, LATENCY_STREAM)
  return {
    latencyMillis,
    // A fixed model or a function gives an action the same latency on every attempt.
    hedgeLatencyMillis: typeof resolved.latency === "function" || resolved.latency._tag === "Fixed"
      ? latencyMillis
      : drawLatencies(resolved, HEDGE_STREAM),
    keys: keyOf,
    fails
  }
}

/** @internal */
export const workload = (options: Options): Workload => draw(resolve(options))

// ------------------------------------------------------------------ tracing

/** The failure of a simulated action; only its index matters. */
class SimulatedFailure {
  constructor(readonly index: number) {}
}

type Strategy = "effect-ordered" | "Stream.mapEffect"

/** What one run recorded, in milliseconds since it started (`NaN`: never happened). */
interface Trace {
  readonly start: Float64Array
  readonly finish: Float64Array
  readonly emit: Float64Array
  /** When a hedged copy started (`NaN`: none did). */
  readonly hedgeStart: Float64Array
  /** 1 where the hedged copy finished first. */
  readonly hedgeWon: Uint8Array
  /** Indices in the order they were emitted. */
  readonly emitted: Array<number>
  readonly failedAt: number | undefined
  readonly makespanMillis: number
}

/** How one run is set up: the window, and hedging or not. */
interface Setup {
  readonly window: number | "auto"
  readonly hedge: Resolved["hedge"]
}

const traceRun = (work: Workload, resolved: Resolved, strategy: Strategy, setup: Setup): Trace => {
  const n = work.latencyMillis.length
  const start = new Float64Array(n).fill(NaN)
  const finish = new Float64Array(n).fill(NaN)
  const emit = new Float64Array(n).fill(NaN)
  const hedgeStart = new Float64Array(n).fill(NaN)
  const hedgeWon = new Uint8Array(n)
  const emitted: Array<number> = []
  const action = (i: number): Effect.Effect<number, SimulatedFailure> =>
    Effect.flatMap(FiberRef.get(currentAttempt), (attempt) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => {
          ;(attempt === 1 ? start : hedgeStart)[i] = now
          return Effect.sleep((attempt === 1 ? work.latencyMillis : work.hedgeLatencyMillis)[i])
        }),
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((now) => {
          // The attempt that finishes first; the other is interrupted at once.
          finish[i] = now
          if (attempt === 2) hedgeWon[i] = 1
          return work.fails[i] ? Effect.fail(new SimulatedFailure(i)) : Effect.succeed(i)
        })
      ))
  const keys = work.keys
  const options: Ordered.Options<number> = {
    concurrency: resolved.concurrency,
    window: setup.window,
    maxWindow: setup.window === "auto" ? resolved.maxWindow : undefined,
    order: resolved.order,
    key: keys === undefined ? undefined : (i) => keys[i],
    keyConcurrency: resolved.keyConcurrency,
    hedge: setup.hedge
  }
  const inputs = Stream.range(0, n - 1)
  const outputs = strategy === "effect-ordered"
    ? Ordered.mapEffect(inputs, action, options)
    : Stream.mapEffect(inputs, action, { concurrency: resolved.concurrency, unordered: resolved.order === "none" })
  const program = Stream.runForEachChunk(outputs, (chunk) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      for (const i of Chunk.toReadonlyArray(chunk)) {
        emit[i] = now
        emitted.push(i)
      }
    }))
  const { elapsedMillis, exit } = runVirtual(program)
  let failedAt: number | undefined
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) throw Cause.squash(exit.cause)
    failedAt = failure.value.index
  }
  return { start, finish, emit, hedgeStart, hedgeWon, emitted, failedAt, makespanMillis: elapsedMillis }
}

// ------------------------------------------------------------------ reports

/** Most intervals `[from[i], to[i])` open at one instant (an interval with a `NaN` end runs until `end`). */
const peakOverlap = (from: Float64Array, to: Float64Array, end: number): number => {
  const opens: Array<number> = []
  const closes: Array<number> = []
  for (let i = 0; i < from.length; i++) {
    if (Number.isNaN(from[i])) continue
    const until = Number.isNaN(to[i]) ? end : to[i]
    if (until > from[i]) {
      opens.push(from[i])
      closes.push(until)
    }
  }
  const sortedOpens = Float64Array.from(opens).sort()
  const sortedCloses = Float64Array.from(closes).sort()
  let open = 0
  let peak = 0
  // Closings before openings at the same instant: a worker freed at t and refilled at t is one in flight.
  for (let o = 0, c = 0; o < sortedOpens.length;) {
    if (sortedCloses[c] <= sortedOpens[o]) {
      open--
      c++
    } else {
      open++
      o++
      if (open > peak) peak = open
    }
  }
  return peak
}

/** Nearest-rank percentile of sorted values (0 when empty). */
const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]

const orderHeld = (trace: Trace, work: Workload, order: Order): boolean => {
  const n = work.latencyMillis.length
  const seen = new Uint8Array(n)
  const lastOfKey = new Map<number, number>()
  let last = -1
  for (const i of trace.emitted) {
    if (seen[i]) return false
    seen[i] = 1
    if (order === "total") {
      if (i < last) return false
      last = i
    } else if (order === "key") {
      const key = work.keys![i]
      if (i < (lastOfKey.get(key) ?? -1)) return false
      lastOfKey.set(key, i)
    }
  }
  return trace.failedAt !== undefined || trace.emitted.length === n
}

const sum = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a + b, 0)

const report = (work: Workload, resolved: Resolved, trace: Trace, unboundedMillis: number): Report => {
  const { emit, finish, hedgeStart, hedgeWon, start } = trace
  const n = work.latencyMillis.length
  const delays = trace.emitted.map((i) => emit[i] - finish[i]).sort((a, b) => a - b)
  const timeline: Array<ActionTrace> = new Array(n)
  let interrupted = 0
  let hedged = 0
  let hedgeWins = 0
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(start[i]) && Number.isNaN(finish[i])) interrupted++
    if (!Number.isNaN(hedgeStart[i])) hedged++
    hedgeWins += hedgeWon[i]
    timeline[i] = {
      index: i,
      key: work.keys?.[i],
      latencyMillis: work.latencyMillis[i],
      startMillis: Number.isNaN(start[i]) ? undefined : start[i],
      finishMillis: Number.isNaN(finish[i]) ? undefined : finish[i],
      emitMillis: Number.isNaN(emit[i]) ? undefined : emit[i],
      failed: work.fails[i] && !Number.isNaN(finish[i]),
      hedgeStartMillis: Number.isNaN(hedgeStart[i]) ? undefined : hedgeStart[i],
      hedgeWon: hedgeWon[i] === 1
    }
  }
  // Every attempt runs until the action finishes: the first attempt, and the copy if one started.
  const attemptStarts = new Float64Array(n + hedged)
  const attemptEnds = new Float64Array(n + hedged)
  attemptStarts.set(start)
  attemptEnds.set(finish)
  for (let i = 0, at = n; i < n; i++) {
    if (Number.isNaN(hedgeStart[i])) continue
    attemptStarts[at] = hedgeStart[i]
    attemptEnds[at++] = finish[i]
  }
  return {
    actions: n,
    emitted: trace.emitted.length,
    makespanMillis: trace.makespanMillis,
    throughput: trace.makespanMillis === 0 ? Infinity : trace.emitted.length / (trace.makespanMillis / 1000),
    peakInFlight: peakOverlap(attemptStarts, attemptEnds, trace.makespanMillis),
    peakBuffered: peakOverlap(finish, emit, trace.makespanMillis),
    emissionDelay: {
      p50: percentile(delays, 0.5),
      p99: percentile(delays, 0.99),
      max: delays.length === 0 ? 0 : delays[delays.length - 1]
    },
    orderHeld: orderHeld(trace, work, resolved.order),
    sequentialMillis: sum(work.latencyMillis),
    unboundedMillis,
    failedAt: trace.failedAt,
    interrupted,
    hedged,
    hedgeWins,
    timeline
  }
}

/** The reference every run is measured against: no bound on the window, no hedging. */
const UNBOUNDED: Setup = { window: Infinity, hedge: undefined }

/** @internal */
export const run = (options: Options): Effect.Effect<Report> =>
  Effect.sync(() => {
    const resolved = resolve(options)
    const work = draw(resolved)
    const trace = traceRun(work, resolved, "effect-ordered", resolved)
    const unboundedMillis = resolved.window === Infinity && resolved.hedge === undefined
      ? trace.makespanMillis
      : traceRun(work, resolved, "effect-ordered", UNBOUNDED).makespanMillis
    return report(work, resolved, trace, unboundedMillis)
  })

/** @internal */
export const compare = (options: CompareOptions): Effect.Effect<ReadonlyArray<Row>> =>
  Effect.sync(() => {
    const resolved = resolve(options)
    const windows = options.windows === undefined
      ? [resolved.window]
      : checkWindows(options.windows, resolved.concurrency)
    const hedges = options.hedges === undefined ? [] : checkHedges(options.hedges)
    const work = draw(resolved)
    const sequentialMillis = sum(work.latencyMillis)
    const unbounded = report(work, resolved, traceRun(work, resolved, "effect-ordered", UNBOUNDED), NaN)
    const row = (strategy: Row["strategy"], setup: Setup | undefined, measured: Pick<Report, "makespanMillis" | "hedged" | "hedgeWins">): Row => ({
      strategy,
      window: setup?.window,
      hedge: setup?.hedge,
      makespanMillis: measured.makespanMillis,
      speedup: sequentialMillis / measured.makespanMillis,
      vsUnbounded: measured.makespanMillis / unbounded.makespanMillis,
      hedged: measured.hedged,
      hedgeWins: measured.hedgeWins
    })
    const ordered = (setup: Setup) =>
      row(
        "effect-ordered",
        setup,
        setup.window === Infinity && setup.hedge === undefined
          ? unbounded
          : report(work, resolved, traceRun(work, resolved, "effect-ordered", setup), NaN)
      )
    const stream = traceRun(work, resolved, "Stream.mapEffect", UNBOUNDED).makespanMillis
    return [
      row("sequential", undefined, { makespanMillis: sequentialMillis, hedged: 0, hedgeWins: 0 }),
      row("Stream.mapEffect", undefined, { makespanMillis: stream, hedged: 0, hedgeWins: 0 }),
      ...windows.map((window) => ordered({ window, hedge: resolved.hedge })),
      ...hedges.map((hedge) => ordered({ window: resolved.window, hedge })),
      row("unbounded", UNBOUNDED, unbounded)
    ]
  })

const checkWindows = (value: unknown, concurrency: number): ReadonlyArray<number | "auto"> => {
  if (!Array.isArray(value) || value.length === 0) throw V.invalid("options.windows", "a non-empty array", value)
  return value.map((window, i) => checkWindow(`options.windows[${i}]`, window, concurrency))
}

const checkHedges = (value: unknown): ReadonlyArray<NonNullable<Resolved["hedge"]>> => {
  if (!Array.isArray(value)) throw V.invalid("options.hedges", "an array", value)
  return value.map((hedge, i) => {
    const path = `options.hedges[${i}]`
    if (resolveHedge(hedge, path) === undefined) throw V.invalid(path, "an object", hedge)
    return hedge
  })
}
