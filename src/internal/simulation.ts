import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Ordered from "../Ordered.ts"
import type {
  ActionTrace,
  CompareOptions,
  Latency as LatencyModel,
  Options,
  Report,
  Row,
  Server,
  Workload
} from "../Simulation.ts"
import { Fifo } from "./fifo.ts"
import { currentAttempt, resolveHedge } from "./hedge.ts"
import { mapEffectResolved } from "./ordered.ts"
import {
  checkWindow,
  type Order,
  resolveConcurrency,
  type ResolvedOptions,
  resolveOptions,
  resolveWindow
} from "./options.ts"
import { deriveSeed, logNormal, mulberry32, uniformInt } from "./random.ts"
import * as V from "./validate.ts"
import { runVirtual } from "./virtualTime.ts"
import * as runtime from "./runtime.ts"

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
  uniform: (min: number, max: number): Exclude<LatencyModel, Server> => ({ _tag: "Uniform", min, max }),
  logNormal: (median: number, sigma: number): Exclude<LatencyModel, Server> => ({ _tag: "LogNormal", median, sigma }),
  fixed: (durations: ReadonlyArray<runtime.DurationInput>): Exclude<LatencyModel, Server> => ({ _tag: "Fixed", durations }),
  server: (options: {
    readonly capacity: number
    readonly latency?: Exclude<LatencyModel, Server> | undefined
    readonly capacityChanges?: ReadonlyArray<{ readonly atMillis: number; readonly capacity: number }> | undefined
  }): LatencyModel => ({
    _tag: "Server",
    capacity: options.capacity,
    latency: options.latency ?? DEFAULT_LATENCY,
    capacityChanges: options.capacityChanges ?? []
  })
}

const DEFAULT_LATENCY: Exclude<LatencyModel, Server> = { _tag: "Uniform", min: 0, max: 100 }
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
  /** `Ordered`'s options, resolved once: every run starts from them. */
  readonly ordered: ResolvedOptions<number>
  /** As given, checked: each row resolves its own window and concurrency from them. */
  readonly window: number | "auto"
  readonly maxWindow: number | undefined
  readonly concurrency: number | "auto"
  readonly maxConcurrency: number | undefined
  readonly minConcurrency: number | undefined
  readonly hedge: Ordered.Options<number>["hedge"]
  readonly order: Order
  readonly keys: number | undefined
  /** How long serving an action takes, and the server, if any, that serves it. */
  readonly latency: Exclude<LatencyModel, Server>
  readonly server: Server | undefined
  readonly failures: number
  readonly seed: number
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
  // `compare`'s "auto" rows take maxConcurrency and minConcurrency beside a fixed concurrency.
  const autoRows = Array.isArray(o.concurrencies) && o.concurrencies.includes("auto") && o.concurrency !== "auto"
  if (autoRows) resolveConcurrency({ ...o, concurrency: "auto" }, undefined)
  // Concurrency, window, order, keyConcurrency and hedge mean what they mean to Ordered: it checks them, once.
  const ordered = resolveOptions<number>({
    concurrency: o.concurrency,
    maxConcurrency: autoRows ? undefined : o.maxConcurrency,
    minConcurrency: autoRows ? undefined : o.minConcurrency,
    window: o.window,
    maxWindow: o.maxWindow,
    order,
    key: keys === undefined ? undefined : Number,
    keyConcurrency: o.keyConcurrency,
    hedge: o.hedge
  }, undefined)
  const model = o.latency === undefined ? DEFAULT_LATENCY : checkLatency(o.latency)
  const failures = o.failures === undefined
    ? 0
    : V.finiteNumberBetween("options.failures", o.failures, 0, 1, "a probability between 0 and 1")
  const seed = o.seed === undefined
    ? DEFAULT_SEED
    : V.integerAtLeast("options.seed", o.seed, Number.MIN_SAFE_INTEGER, "an integer")
  return {
    actions,
    ordered,
    window: o.window === undefined ? "auto" : o.window as number | "auto",
    maxWindow: o.maxWindow as number | undefined,
    concurrency: o.concurrency as number | "auto",
    maxConcurrency: o.maxConcurrency as number | undefined,
    minConcurrency: o.minConcurrency as number | undefined,
    hedge: o.hedge as Ordered.Options<number>["hedge"],
    order,
    keys,
    latency: typeof model !== "function" && model._tag === "Server" ? model.latency : model,
    server: typeof model !== "function" && model._tag === "Server" ? model : undefined,
    failures,
    seed
  }
}

const checkLatency = (value: unknown, path = "options.latency"): LatencyModel => {
  if (typeof value === "function") return value as LatencyModel
  const latency = V.record(path, value)
  switch (latency._tag) {
    case "Uniform": {
      const min = V.integerAtLeast(`${path}.min`, latency.min, 0)
      V.integerAtLeast(`${path}.max`, latency.max, min + 1, `an integer > min (${min})`)
      return value as LatencyModel
    }
    case "LogNormal":
      V.finiteNumberBetween(`${path}.median`, latency.median, Number.MIN_VALUE, Infinity, "a finite number > 0")
      V.finiteNumberBetween(`${path}.sigma`, latency.sigma, 0, Infinity, "a finite number ≥ 0")
      return value as LatencyModel
    case "Fixed": {
      const durations = latency.durations
      if (!Array.isArray(durations) || durations.length === 0) {
        throw V.invalid(`${path}.durations`, "a non-empty array of durations", durations)
      }
      durations.forEach((d, i) => V.nonNegativeDuration(`${path}.durations[${i}]`, d))
      return value as LatencyModel
    }
    case "Server":
      if (path !== "options.latency") break
      return checkServer(latency)
  }
  throw V.invalid(
        path,
        "a Simulation.Latency (Latency.uniform(min, max), .logNormal(median, sigma), .fixed([…])) or a function (index) => Duration",
        value
      )
}

const checkServer = (server: Record<string, unknown>): Server => {
  V.integerAtLeast("options.latency.capacity", server.capacity, 1)
  checkLatency(server.latency, "options.latency.latency")
  const changes = server.capacityChanges
  if (!Array.isArray(changes)) throw V.invalid("options.latency.capacityChanges", "an array", changes)
  changes.forEach((change, i) => {
    const path = `options.latency.capacityChanges[${i}]`
    const c = V.record(path, change)
    V.finiteNumberBetween(`${path}.atMillis`, c.atMillis, 0, Infinity, "a finite number ≥ 0")
    V.integerAtLeast(`${path}.capacity`, c.capacity, 1)
  })
  return server as unknown as Server
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
      const millis = latency.durations.map((d) => Duration.toMillis(runtime.decodeDuration(d)))
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
  /** With `concurrency: "auto"`: when the limit changed, and to what. */
  readonly limitChanges: ReadonlyArray<{ readonly atMillis: number; readonly limit: number }> | undefined
}

/** How one run is set up: the concurrency, the window, and hedging or not. */
interface Setup {
  readonly concurrency: number | "auto"
  readonly window: number | "auto"
  readonly hedge: Resolved["hedge"]
}

/**
 * The engine's options for one setup: the resolved ones, with the setup's
 * concurrency, window and hedging resolved against them (the user's
 * `maxWindow` applies to every automatic window).
 */
const orderedOptions = (
  resolved: Resolved,
  setup: Setup,
  onLimit: (limit: number, now: number) => void
): ResolvedOptions<number> => {
  const { concurrency, limit } = resolveConcurrency({
    concurrency: setup.concurrency,
    maxConcurrency: setup.concurrency === "auto" ? resolved.maxConcurrency : undefined,
    minConcurrency: setup.concurrency === "auto" ? resolved.minConcurrency : undefined
  }, undefined)
  return {
    ...resolved.ordered,
    concurrency,
    limit: limit === undefined ? undefined : { ...limit, onChange: onLimit },
    ...resolveWindow(setup.window, setup.window === "auto" ? resolved.maxWindow : undefined, concurrency),
    hedge: resolveHedge(setup.hedge)
  }
}

/**
 * A FIFO server for `Latency.server`: `serve(millis)` waits for one of
 * `capacity` places, then holds it for `millis`; interrupted while it waits,
 * it leaves the line. `capacityChanges` apply at their times while `run`
 * runs (the changer is interrupted when the run ends).
 */
const makeServer = (server: Server) => {
  let capacity = server.capacity
  let busy = 0
  const line = new Fifo<{ admitted: boolean; left: boolean; resume: () => void }>()
  const admit = () => {
    for (let next = line.peek(); next !== undefined && busy < capacity; next = line.peek()) {
      line.shift()
      if (next.left) continue
      busy++
      next.admitted = true
      next.resume()
    }
  }
  const serve = (millis: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const ticket = { admitted: false, left: false, resume: constVoid }
      const wait = runtime.async<void>((resume) => {
        ticket.resume = () => resume(Effect.void)
        line.push(ticket)
        admit()
      })
      return Effect.ensuring(
        runtime.zipRight(wait, Effect.sleep(millis)),
        Effect.sync(() => {
          ticket.left = true
          if (!ticket.admitted) return
          busy--
          admit()
        })
      )
    })
  const changes = [...server.capacityChanges].sort((a, b) => a.atMillis - b.atMillis)
  const changer = Effect.forEach(changes, (change) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      runtime.zipRight(
        Effect.sleep(Math.max(0, change.atMillis - now)),
        Effect.sync(() => {
          capacity = change.capacity
          admit()
        })
      )), { discard: true })
  return {
    serve,
    run: <A, E>(program: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.scoped(runtime.zipRight(Effect.forkScoped(changer), program))
  }
}

const traceRun = (work: Workload, resolved: Resolved, strategy: Strategy, setup: Setup): Trace => {
  const n = work.latencyMillis.length
  const start = new Float64Array(n).fill(NaN)
  const finish = new Float64Array(n).fill(NaN)
  const emit = new Float64Array(n).fill(NaN)
  const hedgeStart = new Float64Array(n).fill(NaN)
  const hedgeWon = new Uint8Array(n)
  const emitted: Array<number> = []
  const server = resolved.server === undefined ? undefined : makeServer(resolved.server)
  const action = (i: number): Effect.Effect<number, SimulatedFailure> =>
    Effect.flatMap(currentAttempt.get, (attempt) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => {
          ;(attempt === 1 ? start : hedgeStart)[i] = now
          const millis = (attempt === 1 ? work.latencyMillis : work.hedgeLatencyMillis)[i]
          return server === undefined ? Effect.sleep(millis) : server.serve(millis)
        }),
        runtime.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((now) => {
          // The attempt that finishes first; the other is interrupted at once.
          finish[i] = now
          if (attempt === 2) hedgeWon[i] = 1
          return work.fails[i] ? Effect.fail(new SimulatedFailure(i)) : Effect.succeed(i)
        })
      ))
  const keys = work.keys
  const limitChanges: Array<{ atMillis: number; limit: number }> = []
  const options = orderedOptions(resolved, setup, (limit, atMillis) => limitChanges.push({ atMillis, limit }))
  const inputs = Stream.range(0, n - 1)
  const outputs = strategy === "effect-ordered"
    ? mapEffectResolved(inputs, action, { ...options, key: keys === undefined ? undefined : (i) => keys[i] })
    : Stream.mapEffect(inputs, action, { concurrency: options.concurrency, unordered: resolved.order === "none" })
  const consume = runtime.runForEachArray(outputs, (values) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      for (const i of values) {
        emit[i] = now
        emitted.push(i)
      }
    }))
  const { elapsedMillis, exit } = runVirtual(server === undefined ? consume : server.run(consume))
  let failedAt: number | undefined
  if (Exit.isFailure(exit)) {
    const failure = runtime.failureOption(exit.cause)
    if (Option.isNone(failure)) throw Cause.squash(exit.cause)
    // The engine's error type is `unknown`; the simulated actions fail only with SimulatedFailure.
    failedAt = (failure.value as SimulatedFailure).index
  }
  return {
    start,
    finish,
    emit,
    hedgeStart,
    hedgeWon,
    emitted,
    failedAt,
    makespanMillis: elapsedMillis,
    limitChanges: options.limit === undefined ? undefined : limitChanges
  }
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
  const latencies = observedLatencies(trace)
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
    latency: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.length === 0 ? 0 : latencies[latencies.length - 1]
    },
    concurrencyLimit: trace.limitChanges === undefined ? undefined : limitOverTime(trace.limitChanges, trace.makespanMillis),
    timeline
  }
}

/** Start to finish of every action that finished, sorted. */
const observedLatencies = (trace: Trace): Array<number> => {
  const out: Array<number> = []
  for (let i = 0; i < trace.start.length; i++) {
    if (!Number.isNaN(trace.finish[i])) out.push(trace.finish[i] - trace.start[i])
  }
  return out.sort((a, b) => a - b)
}

/** The limit's mean over `[0, end]` (weighted by time), its max and its last value. */
const limitOverTime = (
  changes: ReadonlyArray<{ readonly atMillis: number; readonly limit: number }>,
  end: number
): Report["concurrencyLimit"] => {
  let area = 0
  let max = 0
  for (let i = 0; i < changes.length; i++) {
    const until = i + 1 < changes.length ? changes[i + 1].atMillis : end
    area += changes[i].limit * (until - changes[i].atMillis)
    max = Math.max(max, changes[i].limit)
  }
  const final = changes.length === 0 ? 0 : changes[changes.length - 1].limit
  return { mean: end === 0 ? final : area / end, max, final, changes }
}

/** The reference every run is measured against: the same concurrency, no bound on the window, no hedging. */
const unboundedOf = (resolved: Resolved): Setup => ({ concurrency: resolved.concurrency, window: Infinity, hedge: undefined })

/** @internal */
export const run = (options: Options): Effect.Effect<Report> =>
  Effect.sync(() => {
    const resolved = resolve(options)
    const work = draw(resolved)
    const trace = traceRun(work, resolved, "effect-ordered", resolved)
    const unboundedMillis = resolved.window === Infinity && resolved.hedge === undefined
      ? trace.makespanMillis
      : traceRun(work, resolved, "effect-ordered", unboundedOf(resolved)).makespanMillis
    return report(work, resolved, trace, unboundedMillis)
  })

/** @internal */
export const compare = (options: CompareOptions): Effect.Effect<ReadonlyArray<Row>> =>
  Effect.sync(() => {
    const resolved = resolve(options)
    const windows = options.windows === undefined
      ? [resolved.window]
      : checkWindows(options.windows, resolved.ordered.concurrency)
    const hedges = options.hedges === undefined ? [] : checkHedges(options.hedges)
    const concurrencies = options.concurrencies === undefined ? [] : checkConcurrencies(options.concurrencies)
    const work = draw(resolved)
    const sequentialMillis = sum(work.latencyMillis)
    const reference = unboundedOf(resolved)
    const measure = (strategy: Strategy, setup: Setup) =>
      report(work, resolved, traceRun(work, resolved, strategy, setup), NaN)
    const unbounded = measure("effect-ordered", reference)
    const row = (
      strategy: Row["strategy"],
      setup: Setup | undefined,
      measured: Pick<Report, "makespanMillis" | "hedged" | "hedgeWins" | "latency">
    ): Row => ({
      strategy,
      window: strategy === "Stream.mapEffect" ? undefined : setup?.window,
      hedge: setup?.hedge,
      concurrency: strategy === "Stream.mapEffect" ? resolved.ordered.concurrency : setup?.concurrency,
      makespanMillis: measured.makespanMillis,
      speedup: sequentialMillis / measured.makespanMillis,
      vsUnbounded: measured.makespanMillis / unbounded.makespanMillis,
      hedged: measured.hedged,
      hedgeWins: measured.hedgeWins,
      latencyP99Millis: measured.latency.p99
    })
    const ordered = (setup: Setup) =>
      row(
        "effect-ordered",
        setup,
        setup.window === Infinity && setup.hedge === undefined && setup.concurrency === resolved.concurrency
          ? unbounded
          : measure("effect-ordered", setup)
      )
    const { concurrency, hedge, window } = resolved
    return [
      row("sequential", undefined, {
        makespanMillis: sequentialMillis,
        hedged: 0,
        hedgeWins: 0,
        latency: { p50: 0, p99: 0, max: 0 }
      }),
      row("Stream.mapEffect", reference, measure("Stream.mapEffect", reference)),
      ...windows.map((window) => ordered({ concurrency, window, hedge })),
      ...hedges.map((hedge) => ordered({ concurrency, window, hedge })),
      ...concurrencies.map((concurrency) => ordered({ concurrency, window, hedge })),
      row("unbounded", reference, unbounded)
    ]
  })

const checkConcurrencies = (value: unknown): ReadonlyArray<number | "auto"> => {
  if (!Array.isArray(value)) throw V.invalid("options.concurrencies", "an array", value)
  return value.map((concurrency, i) =>
    concurrency === "auto"
      ? concurrency
      : V.integerAtLeast(`options.concurrencies[${i}]`, concurrency, 1, "an integer ≥ 1 or \"auto\"")
  )
}

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
