/**
 * Simulated time (the package's discrete-event `Simulation`): makespans of
 * the reference workload — 1000 actions, latency uniform in 0–99 ms from a
 * seeded generator, concurrency 100 — and of a heavy-tailed variant; the
 * measurement behind the default `window` ("auto", and the fixed window it
 * starts from) and its `maxWindow`; and what hedging the head buys.
 */
import { Effect } from "effect"
import { rowLabel } from "../examples/demo/labels.ts"
import { Ordered, Simulation } from "../src/index.ts"
const { maxWindowFactor: DEFAULT_MAX_WINDOW_FACTOR, windowFactor: DEFAULT_WINDOW_FACTOR } = Ordered.defaults
import { check, type Check, formatMillis, printTable, ratio } from "./table.ts"

const ACTIONS = 1000
const CONCURRENCY = 100
const SEED = 42
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1)
const UNIFORM = Simulation.Latency.uniform(0, 100)
const LOG_NORMAL = Simulation.Latency.logNormal(20, 1.2)
const P95 = { quantile: 0.95 }

const workloadTable = (name: string, latency: Simulation.Latency, windowFactors: ReadonlyArray<number>) => {
  const options: Simulation.CompareOptions = {
    actions: ACTIONS,
    concurrency: CONCURRENCY,
    latency,
    seed: SEED,
    windows: [...windowFactors.map((k) => k * CONCURRENCY), "auto"],
    hedges: [P95]
  }
  const rows = Effect.runSync(Simulation.compare(options))
  printTable(
    `Simulated time, ${name}: ${ACTIONS} actions, concurrency ${CONCURRENCY}, seed ${SEED}`,
    ["pipeline", "makespan", "vs unbounded window", "speedup vs sequential", "extra actions (hedged)"],
    rows.map((row) => [
      rowLabel(row, options),
      formatMillis(row.makespanMillis),
      ratio(row.vsUnbounded, 1),
      ratio(row.speedup, 1),
      row.hedge === undefined ? "" : `${row.hedged}`
    ])
  )
  const of = (strategy: Simulation.Row["strategy"], window?: number) =>
    rows.find((row) => row.strategy === strategy && (window === undefined || row.window === window))!
  return { ordered: of("effect-ordered", DEFAULT_WINDOW_FACTOR * CONCURRENCY), stream: of("Stream.mapEffect") }
}

/** Makespan / unbounded makespan over many seeds, for window = k × concurrency. */
const windowChoice = () => {
  const factors = [1, 2, 3, 4]
  const perSeed = SEEDS.map((seed) =>
    Effect.runSync(Simulation.compare({
      actions: ACTIONS,
      concurrency: CONCURRENCY,
      latency: UNIFORM,
      seed,
      windows: factors.map((k) => k * CONCURRENCY)
    }))
  )
  const rows = factors.map((k) => {
    const ratios = perSeed.map((rows) => rows.find((row) => row.window === k * CONCURRENCY)!.vsUnbounded)
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length
    return { k, mean, worst: Math.max(...ratios), within: ratios.filter((r) => r <= 1.02).length }
  })
  printTable(
    `Choosing the fixed window (auto starts there): makespan vs unbounded window, uniform 0–99 ms, ${SEEDS.length} seeds`,
    ["window", "mean", "worst", "seeds within 2%"],
    rows.map((r) => [
      `${r.k} × concurrency`,
      `+${((r.mean - 1) * 100).toFixed(1)}%`,
      `+${((r.worst - 1) * 100).toFixed(1)}%`,
      `${r.within}/${SEEDS.length}`
    ])
  )
  return rows.find((r) => r.within === SEEDS.length)?.k
}

interface AutoRow {
  readonly name: string
  /** Worst makespan / unbounded makespan over the seeds. */
  readonly worst: number
  readonly peakBuffered: number
  readonly maxWindow: number
}

/** `window: "auto"` over seeds 1–20: worst ratio to the unbounded window, and the most results it held. */
const autoWindow = (): ReadonlyArray<AutoRow> => {
  const cases = [
    ["uniform 0–99 ms", UNIFORM, ACTIONS, DEFAULT_MAX_WINDOW_FACTOR],
    ["log-normal (20 ms, σ 1.2)", LOG_NORMAL, ACTIONS, DEFAULT_MAX_WINDOW_FACTOR],
    ["log-normal (20 ms, σ 1.2)", LOG_NORMAL, 10_000, DEFAULT_MAX_WINDOW_FACTOR],
    ["log-normal (20 ms, σ 1.2), maxWindow 64×", LOG_NORMAL, 10_000, 64]
  ] as const
  const rows = cases.map(([name, latency, actions, factor]): AutoRow => {
    const reports = SEEDS.map((seed) =>
      Effect.runSync(Simulation.run({
        actions,
        concurrency: CONCURRENCY,
        latency,
        seed,
        window: "auto",
        maxWindow: factor * CONCURRENCY
      }))
    )
    return {
      name: `${name}, ${actions.toLocaleString("en-US")} actions`,
      worst: Math.max(...reports.map((r) => r.makespanMillis / r.unboundedMillis)),
      peakBuffered: Math.max(...reports.map((r) => r.peakBuffered)),
      maxWindow: factor * CONCURRENCY
    }
  })
  printTable(
    `window: "auto" vs an unbounded window, concurrency ${CONCURRENCY}, seeds 1–${SEEDS.length}`,
    ["workload", "worst makespan vs unbounded", "most results held", "maxWindow"],
    rows.map((r) => [r.name, `+${((r.worst - 1) * 100).toFixed(1)}%`, `${r.peakBuffered}`, `${r.maxWindow}`])
  )
  return rows
}

/** What a head stalled for an hour holds with `window: "auto"` (the default): at most `maxWindow`. */
const stalledHead = () => {
  const report = Effect.runSync(Simulation.run({
    actions: 20_000,
    concurrency: CONCURRENCY,
    latency: (i) => (i === 0 ? "1 hour" : 10)
  }))
  return report.peakBuffered
}

interface HedgeRow {
  readonly name: string
  /** Worst hedged / unhedged makespan over the seeds. */
  readonly worst: number
  /** Most hedged copies, as a share of the actions. */
  readonly extra: number
}

const HEDGE_SEEDS = SEEDS.slice(0, 5)

/** `hedge: { quantile: 0.95 }` against no hedging, same window, 10,000 actions. */
const hedging = (): ReadonlyArray<HedgeRow> => {
  const actions = 10_000
  const cases = [
    ["log-normal (20 ms, σ 1.2), window auto (default)", LOG_NORMAL, "auto"],
    ["log-normal (20 ms, σ 1.2), window 300", LOG_NORMAL, 3 * CONCURRENCY],
    ["uniform 0–99 ms, window auto (default)", UNIFORM, "auto"]
  ] as const
  const rows = cases.map(([name, latency, window]): HedgeRow => {
    const perSeed = HEDGE_SEEDS.map((seed) => {
      const options = { actions, concurrency: CONCURRENCY, latency, seed, window }
      const plain = Effect.runSync(Simulation.run(options))
      const hedged = Effect.runSync(Simulation.run({ ...options, hedge: P95 }))
      return { ratio: hedged.makespanMillis / plain.makespanMillis, extra: hedged.hedged / actions }
    })
    return { name, worst: Math.max(...perSeed.map((s) => s.ratio)), extra: Math.max(...perSeed.map((s) => s.extra)) }
  })
  printTable(
    `hedge: { quantile: 0.95 } vs no hedging: ${actions.toLocaleString("en-US")} actions, concurrency ${CONCURRENCY}, seeds 1–${HEDGE_SEEDS.length}`,
    ["workload", "worst makespan, hedged / unhedged", "most extra actions"],
    rows.map((r) => [r.name, ratio(r.worst, 1), `${(r.extra * 100).toFixed(1)}%`])
  )
  return rows
}

// ------------------------------------------------------- concurrency: "auto"

const AUTO_SEEDS = SEEDS.slice(0, 10)
const SERVICE = Simulation.Latency.logNormal(20, 0.5)

/** Time-weighted mean of the attempts in flight over `[from, to)`, from a report's timeline. */
const inFlightBetween = (report: Simulation.Report, from: number, to: number): number => {
  let busy = 0
  for (const action of report.timeline) {
    if (action.startMillis === undefined) continue
    const end = action.finishMillis ?? report.makespanMillis
    busy += Math.max(0, Math.min(to, end) - Math.max(from, action.startMillis))
  }
  return busy / (to - from)
}

interface CapacityRow {
  readonly capacity: number
  /** Worst auto / fixed-at-capacity throughput over the seeds. */
  readonly throughput: number
  /** Worst auto / fixed-at-capacity observed-latency p99 over the seeds. */
  readonly p99: number
  readonly meanLimit: number
}

/**
 * `concurrency: "auto"` against a downstream that serves `capacity` at once
 * (log-normal service, median 20 ms, σ 0.5), next to a fixed concurrency
 * equal to that capacity: the best fixed choice. Window `Infinity` in both,
 * so that only the concurrency differs.
 */
const autoConcurrency = () => {
  const actions = 8000
  const rows = [20, 40, 100].map((capacity): CapacityRow => {
    const perSeed = AUTO_SEEDS.map((seed) => {
      const options = { actions, seed, window: Infinity, latency: Simulation.Latency.server({ capacity, latency: SERVICE }) }
      const auto = Effect.runSync(Simulation.run({ ...options, concurrency: "auto", maxConcurrency: 400 }))
      const fixed = Effect.runSync(Simulation.run({ ...options, concurrency: capacity }))
      return { auto, fixed }
    })
    return {
      capacity,
      throughput: Math.min(...perSeed.map((s) => s.auto.throughput / s.fixed.throughput)),
      p99: Math.max(...perSeed.map((s) => s.auto.latency.p99 / s.fixed.latency.p99)),
      meanLimit: perSeed.reduce((total, s) => total + s.auto.concurrencyLimit!.mean, 0) / perSeed.length
    }
  })
  // Capacity 80, 20 from 2 s, 80 again from 5 s.
  const changing = AUTO_SEEDS.map((seed) => {
    const report = Effect.runSync(Simulation.run({
      actions: 20_000,
      seed,
      window: Infinity,
      concurrency: "auto",
      maxConcurrency: 400,
      latency: Simulation.Latency.server({
        capacity: 80,
        latency: SERVICE,
        capacityChanges: [{ atMillis: 2000, capacity: 20 }, { atMillis: 5000, capacity: 80 }]
      })
    }))
    const back = report.concurrencyLimit!.changes.find((c) => c.atMillis >= 5000 && c.limit >= 0.9 * 80)
    return { inFlight: inFlightBetween(report, 3000, 5000), backMillis: back === undefined ? Infinity : back.atMillis - 5000 }
  })
  const unlimited = AUTO_SEEDS.map((seed) => {
    const options = { actions: 20_000, seed, window: Infinity, latency: SERVICE }
    const auto = Effect.runSync(Simulation.run({ ...options, concurrency: "auto", maxConcurrency: 200 }))
    const fixed = Effect.runSync(Simulation.run({ ...options, concurrency: 200 }))
    return auto.throughput / fixed.throughput
  })
  const once = { actions: 2000, seed: 7, concurrency: "auto", latency: Simulation.Latency.server({ capacity: 30, latency: SERVICE }) } as const
  const deterministic = JSON.stringify(Effect.runSync(Simulation.run(once))) === JSON.stringify(Effect.runSync(Simulation.run(once)))
  const inFlight = Math.max(...changing.map((c) => c.inFlight))
  const back = Math.max(...changing.map((c) => c.backMillis))
  const unlimitedWorst = Math.min(...unlimited)
  printTable(
    `concurrency: "auto" (maxConcurrency 400) vs fixed concurrency = the downstream's capacity: ${actions.toLocaleString("en-US")} actions, service log-normal (20 ms, σ 0.5), seeds 1–${AUTO_SEEDS.length}`,
    ["downstream capacity", "worst throughput, auto / fixed", "worst latency p99, auto / fixed", "mean limit"],
    rows.map((r) => [`${r.capacity}`, ratio(r.throughput, 1), ratio(r.p99, 1), r.meanLimit.toFixed(1)])
  )
  printTable(
    `concurrency: "auto", capacity 80 → 20 at 2 s → 80 at 5 s (20,000 actions), and no capacity limit (20,000 actions, maxConcurrency 200), seeds 1–${AUTO_SEEDS.length}`,
    ["measure", "worst over seeds"],
    [
      ["in flight, mean over 3–5 s (capacity 20)", inFlight.toFixed(1)],
      ["limit back to ≥ 72 after 5 s", `${back.toFixed(0)} ms`],
      ["no capacity limit: throughput, auto / fixed 200", ratio(unlimitedWorst, 1)],
      ["same seed, same report", `${deterministic}`]
    ]
  )
  return { rows, inFlight, back, unlimitedWorst, deterministic }
}

export const runSimulatedBench = async (): Promise<ReadonlyArray<Check>> => {
  const started = performance.now()
  const reference = workloadTable("latency uniform 0–99 ms", UNIFORM, [1, 2, 3])
  // Heavy tails: one slow action holds many finished ones; a larger window buys it back, hedging cuts the tail.
  workloadTable("latency log-normal (median 20 ms, sigma 1.2)", LOG_NORMAL, [3, 10, 30])
  const smallestAllWithin = windowChoice()
  const [uniform, logNormal1k, logNormal10k] = autoWindow()
  const held = stalledHead()
  printTable(
    "window auto (default), action 0 stalled for an hour, 20,000 actions of 10 ms",
    ["results held behind it", "maxWindow"],
    [[`${held}`, `${DEFAULT_MAX_WINDOW_FACTOR * CONCURRENCY}`]]
  )
  const [hedgedLogNormal, hedgedLogNormal300, hedgedUniform] = hedging()
  const auto = autoConcurrency()
  // The clock jumps from one wake-up to the next: simulated actions cost their fibers' work, not their sleeps.
  const bigStarted = performance.now()
  const big = Effect.runSync(Simulation.run({ actions: 100_000, concurrency: CONCURRENCY, seed: SEED, window: 300 }))
  const bigSeconds = (performance.now() - bigStarted) / 1000
  printTable(
    "Simulation.run, 100,000 actions (uniform 0–99 ms, concurrency 100): real time it takes",
    ["simulated makespan", "real time (two virtual runs: window 300 and unbounded)"],
    [[formatMillis(big.makespanMillis), `${bigSeconds.toFixed(1)} s`]]
  )
  console.log(`\n(simulated-time section took ${((performance.now() - started) / 1000).toFixed(1)} s of real time)`)
  const maxWindow = DEFAULT_MAX_WINDOW_FACTOR * CONCURRENCY
  return [
    check(
      "simulated: window 300 within 2% of unbounded",
      reference.ordered.vsUnbounded <= 1.02,
      ratio(reference.ordered.vsUnbounded, 1)
    ),
    check(
      "simulated: ≥ 1.6× shorter than Stream.mapEffect",
      reference.stream.makespanMillis / reference.ordered.makespanMillis >= 1.6,
      ratio(reference.stream.makespanMillis, reference.ordered.makespanMillis)
    ),
    check("simulated: 100,000 actions simulate in under 20 s of real time", bigSeconds < 20, `${bigSeconds.toFixed(1)} s`),
    check(
      `simulated: ${DEFAULT_WINDOW_FACTOR}× (the fixed window auto starts from) is the smallest multiple within 2% on every seed`,
      smallestAllWithin === DEFAULT_WINDOW_FACTOR,
      `${smallestAllWithin}×`
    ),
    check("auto: uniform, within 2% of unbounded on seeds 1–20", uniform.worst <= 1.02, ratio(uniform.worst, 1)),
    check("auto: log-normal 1,000 actions, within 5% on seeds 1–20", logNormal1k.worst <= 1.05, ratio(logNormal1k.worst, 1)),
    check("auto: log-normal 10,000 actions, within 5% on seeds 1–20", logNormal10k.worst <= 1.05, ratio(logNormal10k.worst, 1)),
    check(
      "auto: peak buffered never above maxWindow",
      [uniform, logNormal1k, logNormal10k].every((r) => r.peakBuffered <= r.maxWindow),
      `${Math.max(uniform.peakBuffered, logNormal1k.peakBuffered, logNormal10k.peakBuffered)} ≤ ${maxWindow}`
    ),
    check("auto: a stalled head holds at most maxWindow", held <= maxWindow, `${held} ≤ ${maxWindow}`),
    check(
      "hedge p95: log-normal, window 300: makespan ≤ 0.6× unhedged",
      hedgedLogNormal300.worst <= 0.6,
      ratio(hedgedLogNormal300.worst, 1)
    ),
    check(
      "hedge p95: log-normal, window auto (default): makespan ≤ 0.6× unhedged",
      hedgedLogNormal.worst <= 0.6,
      ratio(hedgedLogNormal.worst, 1)
    ),
    check(
      "hedge p95: log-normal, ≤ 5% extra actions",
      Math.max(hedgedLogNormal.extra, hedgedLogNormal300.extra) <= 0.05,
      `${(Math.max(hedgedLogNormal.extra, hedgedLogNormal300.extra) * 100).toFixed(1)}%`
    ),
    check("hedge p95: uniform, makespan ≤ 1.01× unhedged", hedgedUniform.worst <= 1.01, ratio(hedgedUniform.worst, 1)),
    check("hedge p95: uniform, ≤ 5% extra actions", hedgedUniform.extra <= 0.05, `${(hedgedUniform.extra * 100).toFixed(1)}%`),
    ...auto.rows.flatMap((r) => [
      check(
        `concurrency auto, capacity ${r.capacity}: throughput ≥ 0.9× fixed ${r.capacity}`,
        r.throughput >= 0.9,
        ratio(r.throughput, 1)
      ),
      check(`concurrency auto, capacity ${r.capacity}: latency p99 ≤ 1.5× fixed ${r.capacity}`, r.p99 <= 1.5, ratio(r.p99, 1))
    ]),
    check("concurrency auto, capacity 80 → 20: in flight ≤ 40 from 1 s after", auto.inFlight <= 40, auto.inFlight.toFixed(1)),
    check("concurrency auto, capacity back to 80: limit ≥ 72 within 2 s", auto.back <= 2000, `${auto.back.toFixed(0)} ms`),
    check(
      "concurrency auto, no capacity limit: throughput ≥ 0.9× fixed 200",
      auto.unlimitedWorst >= 0.9,
      ratio(auto.unlimitedWorst, 1)
    ),
    check("concurrency auto: same seed, same report", auto.deterministic, `${auto.deterministic}`)
  ]
}
