/**
 * Simulated time (the package's discrete-event `Simulation`): makespans of
 * the reference workload — 1000 actions, latency uniform in 0–99 ms from a
 * seeded generator, concurrency 100 — and of a heavy-tailed variant, and the
 * measurement behind the default `window`.
 */
import { Effect } from "effect"
import { Simulation } from "../src/index.ts"
import { check, type Check, formatMillis, printTable, ratio } from "./table.ts"

const ACTIONS = 1000
const CONCURRENCY = 100
const SEED = 42

const compare = (latency: Simulation.Latency, seed: number, windowFactors: ReadonlyArray<number>) =>
  Effect.runSync(Simulation.compare({
    actions: ACTIONS,
    concurrency: CONCURRENCY,
    latency,
    seed,
    windows: windowFactors.map((k) => k * CONCURRENCY)
  }))

const workloadTable = (name: string, latency: Simulation.Latency, windowFactors: ReadonlyArray<number>) => {
  const rows = compare(latency, SEED, windowFactors)
  printTable(
    `Simulated time, ${name}: ${ACTIONS} actions, concurrency ${CONCURRENCY}, seed ${SEED}`,
    ["pipeline", "makespan", "vs unbounded window", "speedup vs sequential"],
    rows.map((row) => [row.name, formatMillis(row.makespanMillis), ratio(row.vsUnbounded, 1), ratio(row.speedup, 1)])
  )
  const of = (strategy: Simulation.Row["strategy"], window?: number) =>
    rows.find((row) => row.strategy === strategy && (window === undefined || row.window === window))!
  return { ordered: of("effect-ordered", 3 * CONCURRENCY), stream: of("Stream.mapEffect") }
}

/** Makespan / unbounded makespan over many seeds, for window = k × concurrency. */
const windowChoice = () => {
  const seeds = Array.from({ length: 50 }, (_, i) => i + 1)
  const factors = [1, 2, 3, 4]
  const perSeed = seeds.map((seed) => compare(Simulation.Latency.uniform(0, 100), seed, factors))
  const rows = factors.map((k) => {
    const ratios = perSeed.map((rows) => rows.find((row) => row.window === k * CONCURRENCY)!.vsUnbounded)
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length
    return { k, mean, worst: Math.max(...ratios), within: ratios.filter((r) => r <= 1.02).length }
  })
  printTable(
    `Choosing the default window: makespan vs unbounded window, uniform 0–99 ms, ${seeds.length} seeds`,
    ["window", "mean", "worst", "seeds within 2%"],
    rows.map((r) => [
      `${r.k} × concurrency`,
      `+${((r.mean - 1) * 100).toFixed(1)}%`,
      `+${((r.worst - 1) * 100).toFixed(1)}%`,
      `${r.within}/${seeds.length}`
    ])
  )
  return { rows, seeds: seeds.length }
}

export const runSimulatedBench = async (): Promise<ReadonlyArray<Check>> => {
  const started = performance.now()
  const reference = workloadTable("latency uniform 0–99 ms", Simulation.Latency.uniform(0, 100), [1, 2, 3])
  // Heavy tails: one slow action holds many finished ones; a larger window buys it back.
  workloadTable("latency log-normal (median 20 ms, sigma 1.2)", Simulation.Latency.logNormal(20, 1.2), [3, 10, 30])
  const choice = windowChoice()
  // The clock jumps from one wake-up to the next: simulated actions cost their fibers' work, not their sleeps.
  const bigStarted = performance.now()
  const big = Effect.runSync(Simulation.run({ actions: 100_000, concurrency: CONCURRENCY, seed: SEED }))
  const bigSeconds = (performance.now() - bigStarted) / 1000
  printTable(
    "Simulation.run, 100,000 actions (uniform 0–99 ms, concurrency 100): real time it takes",
    ["simulated makespan", "real time (two virtual runs: default and unbounded window)"],
    [[formatMillis(big.makespanMillis), `${bigSeconds.toFixed(1)} s`]]
  )
  console.log(`\n(simulated-time section took ${((performance.now() - started) / 1000).toFixed(1)} s of real time)`)
  const smallestAllWithin = choice.rows.find((r) => r.within === choice.seeds)
  return [
    check(
      "simulated: default window within 2% of unbounded",
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
      "simulated: default window (3×) is the smallest multiple within 2% on every seed",
      smallestAllWithin?.k === 3,
      `${smallestAllWithin?.k}×`
    )
  ]
}
