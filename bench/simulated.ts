/**
 * Simulated time (discrete-event virtual clock): makespans of the reference
 * workload — 1000 actions, latency uniform in 0–99 ms from a seeded
 * generator, concurrency 100 — and of a heavy-tailed variant, and the
 * measurement behind the default `window`.
 */
import { Duration, Effect, Stream } from "effect"
import { Ordered } from "../src/index.ts"
import { runVirtual } from "../src/internal/virtualTime.ts"
import { check, type Check, formatMillis, printTable, ratio } from "./table.ts"

const ACTIONS = 1000
const CONCURRENCY = 100
const SEED = 42

/** mulberry32: the same seed gives the same latencies on every machine. */
const random = (seed: number) => {
  let state = seed | 0
  return (): number => {
    state = (state + 0x6D2B79F5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const uniform = (seed: number) => {
  const next = random(seed)
  return Array.from({ length: ACTIONS }, () => Math.floor(next() * 100))
}

/** Log-normal, median 20 ms, sigma 1.2 (Box–Muller). */
const logNormal = (seed: number) => {
  const next = random(seed)
  return Array.from({ length: ACTIONS }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
    return Math.round(20 * Math.exp(1.2 * z))
  })
}

const makespan = (latencies: ReadonlyArray<number>, pipeline: "ordered" | "stream", window?: number): number => {
  const action = (i: number) => Effect.as(Effect.sleep(Duration.millis(latencies[i])), i)
  const source = Stream.range(0, latencies.length - 1)
  const stream = pipeline === "stream"
    ? Stream.mapEffect(source, action, { concurrency: CONCURRENCY })
    : Ordered.mapEffect(source, action, { concurrency: CONCURRENCY, window })
  return runVirtual(Stream.runDrain(stream)).elapsedMillis
}

/** `largerWindows`: multiples of concurrency to show beside the default. */
const workloadRows = (name: string, latencies: ReadonlyArray<number>, largerWindows: ReadonlyArray<number> = []) => {
  const unbounded = makespan(latencies, "ordered", Infinity)
  const ordered = makespan(latencies, "ordered")
  const stream = makespan(latencies, "stream")
  const sequential = latencies.reduce((a, b) => a + b, 0)
  const row = (label: string, ms: number) => [label, formatMillis(ms), ratio(ms, unbounded), ratio(sequential, ms)]
  printTable(
    `Simulated time, ${name}: ${ACTIONS} actions, concurrency ${CONCURRENCY}, seed ${SEED}`,
    ["pipeline", "makespan", "vs unbounded window", "speedup vs sequential"],
    [
      row("Ordered.mapEffect (default window 3 × concurrency)", ordered),
      ...largerWindows.map((k) =>
        row(`Ordered.mapEffect, window ${k} × concurrency`, makespan(latencies, "ordered", k * CONCURRENCY))
      ),
      row("Stream.mapEffect({ concurrency: 100 })", stream),
      row("Ordered.mapEffect, window: Infinity", unbounded),
      row("sequential (sum of latencies)", sequential)
    ]
  )
  return { ordered, stream, unbounded }
}

/** Makespan / unbounded makespan over many seeds, for window = k × concurrency. */
const windowChoice = () => {
  const seeds = Array.from({ length: 50 }, (_, i) => i + 1)
  const factors = [1, 2, 3, 4]
  const rows = factors.map((k) => {
    const ratios = seeds.map((seed) => {
      const latencies = uniform(seed)
      return makespan(latencies, "ordered", k * CONCURRENCY) / makespan(latencies, "ordered", Infinity)
    }).sort((a, b) => a - b)
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length
    const within = ratios.filter((r) => r <= 1.02).length
    return { k, mean, worst: ratios[ratios.length - 1], within }
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
  return rows
}

export const runSimulatedBench = async (): Promise<ReadonlyArray<Check>> => {
  const started = performance.now()
  const reference = workloadRows("latency uniform 0–99 ms", uniform(SEED))
  // Heavy tails: one slow action holds many finished ones; a larger window buys it back.
  workloadRows("latency log-normal (median 20 ms, sigma 1.2)", logNormal(SEED), [10, 30])
  const choice = windowChoice()
  console.log(`\n(simulated-time section took ${((performance.now() - started) / 1000).toFixed(1)} s of real time)`)
  const smallestAllWithin = choice.find((r) => r.within === 50)
  return [
    check(
      "simulated: default window within 2% of unbounded",
      reference.ordered <= reference.unbounded * 1.02,
      ratio(reference.ordered, reference.unbounded)
    ),
    check(
      "simulated: ≥ 1.6× shorter than Stream.mapEffect",
      reference.stream / reference.ordered >= 1.6,
      ratio(reference.stream, reference.ordered)
    ),
    check(
      "simulated: default window (3×) is the smallest multiple within 2% on every seed",
      smallestAllWithin?.k === 3,
      `${smallestAllWithin?.k}×`
    )
  ]
}
